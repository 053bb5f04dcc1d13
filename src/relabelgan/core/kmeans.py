"""k-means through a maintained library (cuML on a GPU when it imports, else scikit-learn), and
one relabeling round built on it: fit on a seeded subset, assign every row, warm-start from the
previous round's clusters and match new cluster ids to old ones (Hungarian method).

``n_init`` and the seed are always explicit, so the same features and seed give the same
centroids on the same backend. Needs no torch (relabel and splitting run without it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..metrics.clustering import contingency
from .artifacts import LabelRound
from .errors import ConfigError
from .seeding import derive_seed

BACKENDS = ("auto", "sklearn", "cuml")


@dataclass
class KMeansResult:
    centroids: np.ndarray  # (k, D) float32
    inertia: float  # sum of squared distances of the fitted points to their centroid
    backend: str


def cuml_available() -> bool:
    """cuML imports and sees a CUDA device (asked through CuPy, which cuML brings: no torch here)."""
    try:
        import cuml  # noqa: F401
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pick_backend(name: str) -> str:
    """Resolve 'auto' to 'cuml' (GPU present and cuML importable) or 'sklearn'."""
    if name not in BACKENDS:
        raise ValueError(f"kmeans backend {name!r} is unknown; choose from {BACKENDS}")
    if name == "auto":
        return "cuml" if cuml_available() else "sklearn"
    if name == "cuml" and not cuml_available():
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
        raise ConfigError(f"k-means into k={k} clusters needs at least {k} samples, got {len(x)}; lower the run's k")
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


# ----------------------------------------------------------------------------- one relabeling round


def match_clusters(old: np.ndarray, new: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Hungarian matching of new clusters to old ones.

    Cost of giving new cluster j the id of old cluster i = samples of old cluster i missing
    from new cluster j. Returns ``perm`` with ``perm[j]`` = the id new cluster j takes, and
    the total cost of that matching.
    """
    both = contingency(old, new, k, k)
    cost = both.sum(1, keepdims=True) - both
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(k, dtype=np.int64)
    perm[cols] = rows
    return perm, int(cost[rows, cols].sum())


def cluster_means(features: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) float64 means of each cluster's members (zeros for an empty cluster) and the (k,) counts."""
    sums = np.zeros((k, features.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, features)
    counts = np.bincount(labels, minlength=k)
    return sums / np.maximum(counts, 1)[:, None], counts


def warm_start_centroids(features: np.ndarray, old_labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Means of the previous clusters' members in the new feature space.

    A previous cluster with no members (possible after subsetting) starts at a seeded random sample.
    """
    centroids, counts = cluster_means(features, old_labels, k)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        rng = np.random.default_rng(seed)
        centroids[empty] = features[rng.choice(len(features), size=len(empty), replace=False)]
    return centroids.astype(np.float32)


def _fit_subset(features: np.ndarray, n_subset: int, seed: int) -> np.ndarray:
    if len(features) <= n_subset:
        return np.arange(len(features))
    return np.sort(np.random.default_rng(seed).choice(len(features), size=n_subset, replace=False))


def cluster_round(
    features: np.ndarray,
    k: int,
    seed: int,
    kmeans: dict,
    previous: LabelRound | None = None,
    init: str = "warm",
    match: str = "hungarian",
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Cluster ``features`` into k classes; return (labels, centroids, attrs).

    Centroids are fitted on a seeded subset of ``kmeans['subset']`` rows, then every row is
    assigned to its nearest centroid.
    """
    fit_rows = _fit_subset(features, kmeans["subset"], derive_seed(seed, "subset"))
    start = None
    if previous is not None and init == "warm":
        start = warm_start_centroids(features, previous.labels, k, derive_seed(seed, "empty"))
    result = fit_kmeans(
        features[fit_rows],
        k,
        seed=derive_seed(seed, "kmeans"),
        init=start,
        n_init=kmeans["n_init"],
        max_iter=kmeans["max_iter"],
        backend=kmeans["backend"],
    )
    labels = assign(features, result.centroids)
    centroids = result.centroids
    match_cost = -1
    if previous is not None and match == "hungarian":
        perm, match_cost = match_clusters(previous.labels, labels, k)
        labels = perm[labels]
        reordered = np.empty_like(centroids)
        reordered[perm] = centroids
        centroids = reordered
    attrs = {
        "inertia": result.inertia,
        "backend": result.backend,
        "match_cost": match_cost,
        "init": init if previous is not None else "kmeanspp",
        "match": match,
    }
    return labels, centroids, attrs
