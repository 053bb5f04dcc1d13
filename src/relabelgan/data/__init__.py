"""Training sets: embedded (ring, grid, digits, MNIST's 5,000 digits) and local-path ones (never downloaded).

Every loader returns a :class:`~relabelgan.data.base.Dataset` whose ``x`` lies in [-1, 1] (images,
NCHW) or in data units (2D points), built deterministically from the dataset spec's own seed. The
kinds and what each says about itself are in :mod:`.registry`; one module per family holds the loaders.
This module imports no torch until a dataset is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import dataset_kind

if TYPE_CHECKING:
    from .base import Dataset


def load_dataset(spec: dict, name: str | None = None) -> Dataset:
    """Build the dataset a (validated) dataset spec describes."""
    from ..core.config import complete_dataset

    return dataset_kind(spec["kind"]).load_function()(name or spec["kind"], complete_dataset(spec))


def load_run_dataset(spec: dict) -> Dataset:
    """The training set of a resolved run spec."""
    return load_dataset(spec["dataset_spec"], spec["dataset"])
