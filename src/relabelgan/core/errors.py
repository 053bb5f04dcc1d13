"""Errors of bad input, defined apart from the modules that raise them so the CLI catches them
without importing torch. Every one is a :class:`UserError` (stylegan2-ada's UserError): the CLI turns
it into one line and exit status 2; anything else is a bug and keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: a config, dataset or artifact the user can fix; the message names it and what to do."""


class ConfigError(UserError, ValueError):
    """The config has a bad key or value; the message names it."""


class DatasetError(UserError, FileNotFoundError):
    """A dataset's files are missing or malformed; the message names the path and what to do."""


class ArtifactError(UserError, RuntimeError):
    """An artifact is missing, truncated or does not fit the run; the message names the file."""


class DeviceFullError(ArtifactError):
    """A write ran out of space (or past the process's file-size limit); the message names the file.
    The console script exits at once after saying so: HDF5 cannot close a file whose write failed, and
    its clean-up at exit crashed the process (SIGSEGV)."""


class DivergedError(UserError, RuntimeError):
    """Training diverged (losses or weights not finite, or absurdly large); the message names the run, the
    phase, the iteration and the last healthy losses, and what to change."""
