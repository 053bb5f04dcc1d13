"""Errors of bad input, defined apart from the modules that raise them so the CLI catches them
without importing torch (ArtifactError lives in the torch-free artifacts.py)."""

from __future__ import annotations


class ConfigError(ValueError):
    """The config has a bad key or value; the message names it."""


class DatasetError(FileNotFoundError):
    """A dataset's files are missing or malformed; the message names the path and what to do."""
