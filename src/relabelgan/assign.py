"""`relabelgan assign`: label new data the way a trained run labels its training set.

Given a round's model.pt and labels.h5, each input gets the class that round would give it:
- ``selfcond``, ``splitting``, ``pixelkmeans``: the method's features (D's; the data's own for
  ``pixelkmeans``), then the nearest of the round's centroids (labels.h5 ``centroids``). On the training set this is exactly how relabel.py assigned
  every sample after k-means, so it reproduces labels.h5 for selfcond; a splitting round's classes
  come from 2-means inside each parent class, so for splitting it is the nearest-class reading.
- ``slcgan``: argmax of the clustering network C in the checkpoint (its labels by definition).
- ``acgan``: argmax of D's auxiliary classifier (its labels are the ground truth, which the head learns).
- ``uncond``, ``random``: refused; their labels say nothing about a sample.

Inputs: image files or folders of them (png, jpg, bmp, webp; converted to the model's channels and
resized to its resolution), ``.npy`` arrays (uint8 images N×H×W, N×C×H×W or N×H×W×C; or float rows
already in the model's input space, e.g. 2D points), ``.h5`` files holding such an array as ``x``, or
the run's own training set (``train``). Hidden files in folders are skipped; inputs that cannot be the
model's (no rows, not numbers, NaN or inf rows, 0..255 pixel values given as floats, unreadable files,
a resume snapshot as the model) are refused with one line naming the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np
import torch

from .core.artifacts import ArtifactError, atomic_path, read_labels
from .core.kmeans import assign as nearest_centroid
from .data import load_run_dataset
from .data.base import IMAGE_SUFFIXES, image_files, images_to_tensor, read_image
from .methods import get_method
from .training.checkpoint import load_all_networks, load_checkpoint, load_networks
from .training.features import feature_blocks


def assign_labels(model: str, labels_path: str | None, sources: list[str], out: str) -> np.ndarray:
    """Write ``out`` (CSV: item, label and the probability or centroid distance behind it); return the labels."""
    state = load_checkpoint(model)
    if "provenance" not in state:
        raise ArtifactError(
            f"{model}: a phase's resume snapshot or an unfinished checkpoint (no provenance); give a round's model.pt"
        )
    spec = state["provenance"]["spec"]
    method, batch = get_method(spec["method"]), spec["extract_batch"]  # the batches extraction used: same floats
    items, x = load_inputs(sources, tuple(state["arch"]["data_shape"]), spec)
    if method.assigns_by is None:
        raise ArtifactError(
            f"{model}: method {method.name!r} gives every sample a fixed or random class; there is nothing to assign"
        )
    if method.assigns_by == "centroids" and labels_path is None:
        raise ArtifactError(f"{model}: method {method.name!r} assigns to the round's centroids: pass --labels")
    assigner, kind = ASSIGNERS[method.assigns_by]
    labels, score = assigner(state, x, batch, model, labels_path or "")
    _write(out, items, labels, score, kind)
    return labels


def load_inputs(sources: list[str], data_shape: tuple[int, ...], spec: dict) -> tuple[list[str], torch.Tensor]:
    """(item names, inputs as the model's training data is scaled) from files, folders or 'train'."""
    items: list[str] = []
    blocks: list[torch.Tensor] = []
    for source in sources:
        names, x = _read_source(source, data_shape, spec)
        if tuple(x.shape[1:]) != data_shape:
            raise ArtifactError(f"{source}: inputs of shape {tuple(x.shape[1:])}, but the model takes {data_shape}")
        items += names
        blocks.append(x)
    return items, torch.cat(blocks)


def _read_source(source: str, data_shape: tuple[int, ...], spec: dict) -> tuple[list[str], torch.Tensor]:
    if source == "train":
        x = load_run_dataset(spec).x
        return [f"train:{i}" for i in range(len(x))], x
    path = Path(source)
    if not path.exists():
        raise ArtifactError(f"{source}: no such file or folder (give image files, folders, .npy, .h5 or 'train')")
    if path.is_dir():
        files = image_files(path)  # hidden files (macOS's ._* resource forks) are not the user's images
        if not files:
            raise ArtifactError(f"{source}: a folder without images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return [str(f) for f in files], _images(files, data_shape)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [str(path)], _images([path], data_shape)
    if path.suffix in (".npy", ".h5", ".hdf5"):
        array = _npy_array(path) if path.suffix == ".npy" else _h5_array(path)
        if array.ndim == 0 or len(array) == 0:
            raise ArtifactError(f"{source}: holds no rows (shape {array.shape}); give one input per row")
        return [f"{path}:{i}" for i in range(len(array))], _array(array, data_shape, source)
    raise ArtifactError(f"{source}: not an image, folder, .npy or .h5 file")


def _npy_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)  # never unpickle what a user hands in
    except (ValueError, OSError, EOFError) as e:
        raise ArtifactError(f"{path}: not a readable .npy array of numbers ({e}); save it with numpy.save") from e


def _h5_array(path: Path) -> np.ndarray:
    try:
        with h5py.File(path, "r") as f:
            if not isinstance(f.get("x"), h5py.Dataset):
                raise ArtifactError(f"{path}: no dataset 'x' (the inputs, one per row) at the top level")
            return f["x"][...]
    except OSError as e:
        raise ArtifactError(f"{path}: not a readable HDF5 file ({e}); give an .h5 with a dataset 'x'") from e


def _images(files: list[Path], data_shape: tuple[int, ...]) -> torch.Tensor:

    if len(data_shape) != 3:
        raise ArtifactError(f"{files[0]}: an image, but the model takes vectors of shape {data_shape}")
    channels, resolution = data_shape[0], data_shape[-1]
    mode = {1: "L", 3: "RGB"}[channels]
    array = np.stack([read_image(f, mode, resolution) for f in files])
    return images_to_tensor(array[:, None] if channels == 1 else array.transpose(0, 3, 1, 2), None)


def _array(array: np.ndarray, data_shape: tuple[int, ...], source: str) -> torch.Tensor:
    """uint8 images (NHW, NCHW, NHWC) scaled and resized as the training data; float rows taken as they are,
    refused when they cannot be the model's inputs (not finite, or 0..255 pixel values given as numbers)."""
    if not np.issubdtype(array.dtype, np.number):
        raise ArtifactError(f"{source}: holds {array.dtype} values, not numbers")
    if array.dtype != np.uint8:
        x = torch.as_tensor(np.asarray(array, dtype=np.float32))
        bad = ~torch.isfinite(x.reshape(len(x), -1)).all(1)
        if bad.any():
            raise ArtifactError(
                f"{source}: rows {torch.nonzero(bad).flatten()[:5].tolist()} hold NaN or inf; remove them"
            )
        if len(data_shape) == 3 and float(x.abs().max()) > 1.5:
            raise ArtifactError(
                f"{source}: {array.dtype} values up to {float(x.abs().max()):g}, but the model takes images "
                "scaled to [-1, 1]; give uint8 pixels (0..255) or values already scaled to [-1, 1]"
            )
        return x
    if len(data_shape) != 3:
        raise ArtifactError(f"{source}: uint8 images, but the model takes vectors of shape {data_shape}")
    channels = data_shape[0]
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] not in (1, 3) and array.shape[-1] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.ndim != 4 or array.shape[1] != channels:
        raise ArtifactError(f"{source}: images of shape {array.shape[1:]}, but the model takes {channels} channel(s)")
    return images_to_tensor(np.ascontiguousarray(array), data_shape[-1])


@torch.no_grad()
def _argmax_clusterer(
    state: dict, x: torch.Tensor, batch: int, model: str, labels_path: str | None
) -> tuple[np.ndarray, np.ndarray]:
    from .methods.slcgan.objective import load_clusterer

    C = load_clusterer(state, "cpu", model)
    probs = torch.cat([C(x[i : i + batch]).softmax(1) for i in range(0, len(x), batch)])
    score, labels = probs.max(1)
    return labels.numpy().astype(np.int64), score.numpy()


@torch.no_grad()
def _argmax_classifier(
    state: dict, x: torch.Tensor, batch: int, model: str, labels_path: str | None
) -> tuple[np.ndarray, np.ndarray]:
    D = load_networks(state, "cpu")[1].eval()
    probs = torch.cat([D.cls(D.features(x[i : i + batch])).softmax(1) for i in range(0, len(x), batch)])
    score, labels = probs.max(1)
    return labels.numpy().astype(np.int64), score.numpy()


def _nearest_centroid(
    state: dict, x: torch.Tensor, batch: int, model: str, labels_path: str
) -> tuple[np.ndarray, np.ndarray]:
    rnd = read_labels(labels_path)
    if rnd.centroids.shape[1] == 0:
        raise ArtifactError(f"{labels_path}: has no centroids (labels not made by clustering); give a clustered round")
    method = get_method(state["provenance"]["spec"]["method"])
    net = method.feature_network(load_all_networks(state, method))[0]  # the features its clusters were made in
    feats = np.concatenate(list(feature_blocks(net, x, batch, torch.device("cpu"))))
    if feats.shape[1] != rnd.centroids.shape[1]:
        raise ArtifactError(
            f"{labels_path}: centroids of dimension {rnd.centroids.shape[1]}, the model's features "
            f"have {feats.shape[1]}; give the labels.h5 of the model's round"
        )
    labels = nearest_centroid(feats, rnd.centroids)
    distance = np.linalg.norm(feats - rnd.centroids[labels], axis=1)
    return labels, distance


# How a method labels new data (Method.assigns_by): (function, what its score column holds).
ASSIGNERS = {
    "classifier": (_argmax_classifier, "probability"),  # argmax of D's auxiliary classifier
    "centroids": (_nearest_centroid, "distance"),  # nearest centroid of the round's clusters, D's features
    "clusterer": (_argmax_clusterer, "probability"),  # argmax C(x)
}


def _write(out: str, items: list[str], labels: np.ndarray, score: np.ndarray, kind: str) -> None:
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item", "label", kind])
        writer.writerows(zip(items, labels.tolist(), score.tolist(), strict=False))
