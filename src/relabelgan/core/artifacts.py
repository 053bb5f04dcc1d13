"""The files that pass between rules: features.h5, labels.h5, tidy CSVs.

Every writer goes through :func:`atomic_path` (temp file in the same folder, then
``os.replace``), so a killed job never leaves a half-written artifact under the
final name, and every file records the files it was made from (path + SHA-256).
The formats are documented in docs/artifacts.md.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .errors import ArtifactError, DeviceFullError  # raised here; defined with the other input errors

FEATURES_FORMAT = "relabelgan-features/1"
LABELS_FORMAT = "relabelgan-labels/1"


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def provenance(path: str | os.PathLike) -> str:
    """A JSON string ``{"path": ..., "sha256": ...}`` naming a source file."""
    return json.dumps({"path": str(path), "sha256": sha256(path)})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` only on success.

    Temporary files of ``final`` that a killed writer left behind (``.NAME.*.tmp``) are removed first: one
    process writes an artifact at a time (the workflow's job for it), so none of them is still being written.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{glob.escape(final.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the artifact the permissions a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, final)
    except (OSError, RuntimeError) as e:
        reason = _out_of_space(e)
        if reason is None:
            raise
        tmp_path.unlink(missing_ok=True)  # frees what the failed write took before the free space is read
        free = shutil.disk_usage(final.parent).free / 2**20
        raise DeviceFullError(
            f"{final}: {reason} ({free:.0f} MiB free in {final.parent}); "
            "free some space (or raise the limit) and rerun (nothing was written)"
        ) from e
    finally:
        tmp_path.unlink(missing_ok=True)


def _out_of_space(error: BaseException) -> str | None:
    """Why a write failed for lack of room, or None: ENOSPC (and torch.save's zip writer failing mid-file,
    which is how a full disk shows there: "unexpected pos", "failed writing"), or EFBIG, the file-size
    limit of the process (``ulimit -f``). The errors it caused count too: h5py, closing a file whose
    write failed, raises its own RuntimeError ("... errno = 27 ...") while handling the first one."""
    for e in _error_chain(error):
        code, text = e.errno if isinstance(e, OSError) else None, str(e)
        if code == errno.ENOSPC or "errno = 28" in text or "unexpected pos" in text or "failed writing" in text:
            return "no space left on the device"
        if code == errno.EFBIG or "errno = 27" in text:
            return "the file grew past this process's file-size limit (ulimit -f)"
    return None


def _error_chain(error: BaseException | None, depth: int = 4) -> Iterator[BaseException]:
    """``error``, then what it was raised from or while handling, ``depth`` deep."""
    while error is not None and depth > 0:
        yield error
        error, depth = error.__cause__ or error.__context__, depth - 1


ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive: a model.pt given where an .h5 belongs
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ARTIFACT_NAMES = {FEATURES_FORMAT: "features.h5", LABELS_FORMAT: "labels.h5"}


def _unreadable(path: Path, expected_format: str, error: OSError) -> ArtifactError:
    """Say what an unopenable file is; advise deleting it only when it looks like a damaged HDF5 file."""
    want = _ARTIFACT_NAMES.get(expected_format, "HDF5 artifact")
    if path.is_dir():
        return ArtifactError(f"{path}: is a folder, not a file; give the run's {want}")
    with open(path, "rb") as f:
        head = f.read(len(HDF5_MAGIC))
    if head.startswith(ZIP_MAGIC):
        # A valid checkpoint given by mistake: deleting it would throw away a trained model.
        return ArtifactError(
            f"{path} is a model checkpoint (model.pt), not a labels.h5/features.h5; give the round's {want}"
        )
    if head == b"" or head.startswith(HDF5_MAGIC):
        return ArtifactError(
            f"{path}: not a readable HDF5 file ({error}); it may be truncated. "
            "Delete it and rerun the rule that makes it."
        )
    return ArtifactError(f"{path}: not an HDF5 file (it starts with {head!r}); give the run's {want}")


def _open_h5(path: str | os.PathLike, expected_format: str) -> h5py.File:
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: file not found; build it with the workflow (snakemake {path}).")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise _unreadable(path, expected_format, e) from e
    fmt = f.attrs.get("format")
    if fmt != expected_format:
        f.close()
        raise ArtifactError(f"{path}: attribute 'format' is {fmt!r}, expected {expected_format!r}.")
    return f


# ----------------------------------------------------------------------------- features.h5


def write_features(
    path: str | os.PathLike,
    features: Iterator[np.ndarray] | np.ndarray,
    n: int,
    dim: int,
    sample_index: np.ndarray,
    attrs: dict,
    chunk_rows: int = 4096,
    columns: dict[str, np.ndarray] | None = None,
) -> None:
    """Write a features.h5, streaming blocks of rows so memory stays flat in N.

    ``features`` is an (n, dim) array or an iterator of (rows, dim) blocks in sample order.
    ``columns``: per-sample integer arrays stored beside them (``truth``: the dataset's ground-truth
    classes; ``assigned``: slcgan's argmax C(x)), so the relabel step reads them without torch.
    """
    blocks = [features] if isinstance(features, np.ndarray) else features
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        ds = f.create_dataset("features", shape=(n, dim), dtype="float32", chunks=(min(chunk_rows, max(n, 1)), dim))
        row = 0
        for block in blocks:
            block = np.asarray(block, dtype=np.float32)
            ds[row : row + len(block)] = block
            row += len(block)
        if row != n:
            raise ArtifactError(f"{path}: wrote {row} feature rows, expected {n}.")
        f.create_dataset("sample_index", data=np.asarray(sample_index, dtype=np.int64))
        for name, values in (columns or {}).items():
            if len(values) != n:
                raise ArtifactError(f"{path}: column {name!r} has {len(values)} rows, expected {n}.")
            f.create_dataset(name, data=np.asarray(values, dtype=np.int64))
        f.attrs["format"] = FEATURES_FORMAT
        for key, value in attrs.items():
            f.attrs[key] = value


def read_features(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return (features (N, D) float32, sample_index (N,), attrs) of a features.h5."""
    with _open_h5(path, FEATURES_FORMAT) as f:
        try:
            features, sample_index, attrs = f["features"][...], f["sample_index"][...], dict(f.attrs)
        except (KeyError, OSError) as e:
            raise ArtifactError(f"{path}: cannot read datasets 'features'/'sample_index' ({e}); rerun extract.") from e
    if not np.isfinite(features).all():
        rows = int((~np.isfinite(features)).any(axis=1).sum())
        raise ArtifactError(
            f"{path}: {rows} of {len(features)} rows hold NaN or inf features: the model they were extracted "
            "from diverged; rerun its phase with lower learning rates (lr_d, lr_g)"
        )
    return features, sample_index, attrs


def read_feature_column(path: str | os.PathLike, name: str) -> np.ndarray | None:
    """A per-sample column of a features.h5 (``truth``, ``assigned``), or None when it has none."""
    with _open_h5(path, FEATURES_FORMAT) as f:
        return f[name][...] if name in f else None


# ----------------------------------------------------------------------------- labels.h5


@dataclass
class LabelRound:
    """One relabeling round: the labels phase ``round + 1`` trains on.

    ``labels[i]`` is the class of training sample ``sample_index[i]``; ``parent[c]`` is the
    class of the previous round that class ``c`` came from (-1 at round 0).
    """

    labels: np.ndarray
    parent: np.ndarray
    centroids: np.ndarray
    sample_index: np.ndarray
    attrs: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(len(self.parent))

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.k)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.parent = np.asarray(self.parent, dtype=np.int64)
        self.sample_index = np.asarray(self.sample_index, dtype=np.int64)
        self.centroids = np.asarray(self.centroids, dtype=np.float32)
        if len(self.labels) != len(self.sample_index):
            raise ArtifactError(
                f"labels ({len(self.labels)}) and sample_index ({len(self.sample_index)}) differ in length"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.k):
            raise ArtifactError(f"labels must lie in [0, {self.k}); got [{self.labels.min()}, {self.labels.max()}]")


def write_labels(path: str | os.PathLike, rnd: LabelRound) -> None:
    """Write a labels.h5 atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("labels", data=rnd.labels)
        f.create_dataset("parent", data=rnd.parent)
        f.create_dataset("centroids", data=rnd.centroids)
        f.create_dataset("sizes", data=rnd.sizes)
        f.create_dataset("sample_index", data=rnd.sample_index)
        f.attrs["format"] = LABELS_FORMAT
        f.attrs["k"] = rnd.k
        for key, value in rnd.attrs.items():
            f.attrs[key] = value


def read_labels(path: str | os.PathLike, n_samples: int | None = None) -> LabelRound:
    """Read a labels.h5; with ``n_samples``, refuse a file made for a dataset of another size."""
    with _open_h5(path, LABELS_FORMAT) as f:
        try:
            rnd = LabelRound(
                labels=f["labels"][...],
                parent=f["parent"][...],
                centroids=f["centroids"][...],
                sample_index=f["sample_index"][...],
                attrs={k: v for k, v in f.attrs.items() if k not in ("format", "k")},
            )
        except (KeyError, OSError) as e:
            raise ArtifactError(f"{path}: missing or unreadable dataset ({e}); rerun relabel.") from e
        except ArtifactError as e:
            raise ArtifactError(f"{path}: {e}") from e
    if n_samples is not None and len(rnd.labels) != n_samples:
        raise ArtifactError(
            f"{path}: holds {len(rnd.labels)} labels but the dataset has {n_samples} samples; "
            "it was made for another dataset or subset. Rerun relabel for this run."
        )
    return rnd
