"""scikit-learn's 8x8 digits (1,797 images, 10 classes), read from the CSV the package ships."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from .base import Dataset


def _digits_table() -> np.ndarray:
    """scikit-learn's digits as (1797, 65) rows: 64 pixel values 0..16, then the class.

    Read from the CSV that scikit-learn ships, which is what ``load_digits`` parses; importing
    ``sklearn.datasets`` to call it costs about a second in every digits job. tests/test_datasets.py
    checks that both give the same arrays.
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if csv is None or not csv.exists():  # another layout: the library's own loader
        from sklearn.datasets import load_digits

        d = load_digits()
        return np.column_stack([d.data, d.target])
    return np.loadtxt(csv, delimiter=",")


def load_digits(name: str, spec: dict) -> Dataset:
    table = _digits_table()  # bundled with scikit-learn: 1797 8x8 images, values 0..16
    x = torch.from_numpy(table[:, :64].reshape(-1, 1, 8, 8).astype(np.float32) / 8.0 - 1.0)
    return Dataset(name, x, torch.from_numpy(table[:, 64].astype(np.int64)), 10)
