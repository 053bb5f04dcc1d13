"""Dataset errors, defined apart from datasets.py so the CLI catches them without importing torch.

(ArtifactError and ConfigError live in the torch-free artifacts.py and config.py.)
"""

from __future__ import annotations


class DatasetError(FileNotFoundError):
    """A dataset's files are missing or malformed; the message names the path and what to do."""
