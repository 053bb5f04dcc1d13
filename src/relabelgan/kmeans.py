"""k-means through a maintained library: cuML on a GPU when it imports, else scikit-learn.

``n_init`` and the seed are always explicit, so the same features and seed give the same
centroids on the same backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKENDS = ("auto", "sklearn", "cuml")


@dataclass
class KMeansResult:
    centroids: np.ndarray  # (k, D) float32
    inertia: float  # sum of squared distances of the fitted points to their centroid
    backend: str


def _cuml_available() -> bool:
    try:
        import torch

        if not torch.cuda.is_available():
            return False
        import cuml  # noqa: F401
    except Exception:
        return False
    return True


def pick_backend(name: str) -> str:
    """Resolve 'auto' to 'cuml' (GPU present and cuML importable) or 'sklearn'."""
    if name not in BACKENDS:
        raise ValueError(f"kmeans backend {name!r} is unknown; choose from {BACKENDS}")
    if name == "auto":
        return "cuml" if _cuml_available() else "sklearn"
    if name == "cuml" and not _cuml_available():
        raise RuntimeError("kmeans backend 'cuml' requested but cuML or a CUDA device is not available; use 'auto'")
    return name


def fit_kmeans(
    x: np.ndarray,
    k: int,
    *,
    seed: int,
    init: np.ndarray | None = None,
    n_init: int = 10,
    max_iter: int = 300,
    backend: str = "auto",
) -> KMeansResult:
    """Fit k-means on ``x``: k-means++ (best of ``n_init``) or, given ``init`` centroids, one warm run."""
    if len(x) < k:
        raise ValueError(f"k-means needs at least k={k} points, got {len(x)}")
    backend = pick_backend(backend)
    x = np.ascontiguousarray(x, dtype=np.float32)
    start = "k-means++" if init is None else np.ascontiguousarray(init, dtype=np.float32)
    runs = n_init if init is None else 1
    if backend == "cuml":
        from cuml.cluster import KMeans as CuKMeans

        km = CuKMeans(n_clusters=k, init=start, n_init=runs, max_iter=max_iter, random_state=seed % (2**31))
    else:
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=k, init=start, n_init=runs, max_iter=max_iter, random_state=seed % (2**31))
    km.fit(x)
    return KMeansResult(np.asarray(km.cluster_centers_, dtype=np.float32), float(km.inertia_), backend)


def assign(x: np.ndarray, centroids: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Nearest-centroid index of every row of ``x`` (chunked, so memory stays flat in N)."""
    c = centroids.astype(np.float32)
    c_sq = (c * c).sum(1)
    out = np.empty(len(x), dtype=np.int64)
    for i in range(0, len(x), chunk):
        block = np.asarray(x[i : i + chunk], dtype=np.float32)
        out[i : i + chunk] = np.argmin(c_sq[None, :] - 2.0 * block @ c.T, axis=1)
    return out
