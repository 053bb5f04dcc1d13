"""CIFAR-10 and STL-10 from their binary releases under a local ``path`` (raw bytes: nothing is unpickled)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.errors import DatasetError
from .base import Dataset, check_labels, images_to_tensor, require_path


def load_cifar10(name: str, spec: dict) -> Dataset:
    # The binary release (cifar-10-binary.tar.gz) is raw bytes: nothing is unpickled.
    root = Path(spec.get("path", ""))
    hint = "Extract cifar-10-binary.tar.gz there (the folder holding data_batch_1.bin .. data_batch_5.bin)"
    require_path(root, "cifar10", hint)
    xs, ys = [], []
    for i in range(1, 6):
        f = root / f"data_batch_{i}.bin"
        require_path(f, "cifar10", hint)
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


def load_stl10(name: str, spec: dict) -> Dataset:
    root = Path(spec.get("path", ""))
    images_file, labels_file = STL10_SUBSETS[spec["subset"]]
    hint = f"Extract stl10_binary.tar.gz there (the folder holding {images_file}{' and ' + labels_file if labels_file else ''})"
    for f in filter(None, (images_file, labels_file)):
        require_path(root / f, "stl10", hint)
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
    check_labels(y, n_images, path, "stl10", "re-extract stl10_binary.tar.gz", offset=1)
    return y
