"""`relabelgan relabel`: the labels phase r+1 trains on, made from features r and labels r-1.

Per method:
- ``uncond``: one class; ``acgan``: the ground truth; ``random``: seeded uniform classes.
  These never change: later rounds carry the previous labels forward.
- ``splitting``: round 0 is the ground truth (``schedule: supervised``) or one class
  (``unsupervised``); at each of ``split_rounds`` every class above ``split_threshold``
  samples is split in two (splitting.py); other rounds carry the labels forward.
- ``selfcond``: round 0 is k-means++ (best of ``n_init``) on the random-init D's features.
  Later rounds start k-means from the means, in the new feature space, of the previous
  round's clusters (``init: warm``; ``kmeanspp`` re-seeds instead), then match new clusters
  to old ones with the Hungarian method (``match: hungarian``) so class c keeps its meaning.
- ``slcgan``: every round's labels are argmax C(x) of the clustering network in that round's
  model.pt (round 0: the untrained C); no clustering here (slcgan.py).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .artifacts import ArtifactError, LabelRound, provenance, read_features, read_labels, write_labels
from .clustering import contingency
from .checkpoint import load_checkpoint
from .datasets import load_dataset
from .device import derive_seed, pick_device
from .kmeans import assign, fit_kmeans
from .methods import get_method
from .slcgan import cluster_labels, load_clusterer


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


def _parents(previous: LabelRound, labels: np.ndarray, k: int) -> np.ndarray:
    """For each new class, the previous class that gave it most members (-1 if it has none)."""
    both = contingency(previous.labels, labels, previous.k, k)
    parent = both.argmax(0)
    parent[both.sum(0) == 0] = -1
    return parent


def clusterer_round(
    spec: dict, x: torch.Tensor, model_path: str | None, features: np.ndarray, sample_index: np.ndarray,
    previous: LabelRound | None,
) -> LabelRound:
    """slcgan: labels = argmax C(x) under the round's checkpoint, centroids = class means of C's features.

    Class c is output c of C in every round, so no matching is needed; ``parent`` records where
    each class's members were in the previous round, as for the other methods.
    """
    if model_path is None:
        raise ValueError(f"method {spec['method']!r} reads its labels from the round's model: pass --model")
    device = pick_device(spec)
    C = load_clusterer(load_checkpoint(model_path), device, model_path)
    labels = cluster_labels(C, x[torch.from_numpy(sample_index)], spec["extract_batch"], device)
    k = C.n_classes
    parent = _parents(previous, labels, k) if previous is not None else np.full(k, -1)
    attrs = {"source_model": provenance(model_path), "labels_from": "argmax C(x)"}
    return LabelRound(labels, parent, cluster_means(features, labels, k)[0], sample_index, attrs)


def relabel(
    spec: dict, rnd: int, out: str, features_path: str | None = None, previous_path: str | None = None,
    model_path: str | None = None,
) -> LabelRound:
    """Make round ``rnd``'s labels.h5 for the run's method and write it to ``out``.

    ``model_path`` (the round's model.pt) is needed only by methods whose labels come from their
    own clustering network (``slcgan``).
    """
    method = get_method(spec["method"])
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    n = len(data)
    previous = read_labels(previous_path, n_samples=n) if previous_path else None
    seed = derive_seed(spec["seed"], "relabel", rnd)
    attrs: dict = {"method": method.name, "round": rnd, "seed": spec["seed"], "run": spec["name"]}
    if previous_path:
        attrs["source_labels"] = provenance(previous_path)

    if method.relabels_at(spec, rnd):
        if features_path is None:
            raise ValueError(f"method {method.name!r} relabels from features: pass --features")
        feats, sample_index, _ = read_features(features_path)
        if len(feats) != n:
            raise ArtifactError(f"{features_path}: {len(feats)} rows but the dataset has {n} samples; rerun extract")
        attrs["source_features"] = provenance(features_path)
    if method.clusterer:
        result = clusterer_round(spec, data.x, model_path, feats, sample_index, previous)
        result.attrs = {**attrs, **result.attrs}
    elif method.relabels_at(spec, rnd) and method.grows:
        from .splitting import split_round  # splitting builds on cluster_round from this module

        result = split_round(spec, rnd, previous, feats, sample_index)
        result.attrs = {**attrs, **result.attrs}
    elif method.relabels_at(spec, rnd):
        k = int(spec["k"])
        labels, centroids, cluster_attrs = cluster_round(
            feats, k, seed, spec["kmeans"], previous, spec.get("init", "warm"), spec.get("match", "hungarian")
        )
        attrs.update(cluster_attrs)
        parent = _parents(previous, labels, k) if previous is not None else np.full(k, -1)
        result = LabelRound(labels, parent, centroids, sample_index, attrs)
    elif previous is not None:
        # Fixed-label methods (and splitting between its split rounds) carry their labels
        # forward unchanged; each class is its own parent.
        result = LabelRound(previous.labels, np.arange(previous.k), previous.centroids, previous.sample_index, attrs)
    else:
        k = method.n_classes(spec, data)
        if method.start_classes(spec) == "dataset":
            if data.y is None:
                raise ValueError(f"method {method.name!r} needs ground-truth labels, dataset {spec['dataset']!r} has none")
            labels = data.y.numpy()
        elif method.name == "random":
            labels = np.random.default_rng(seed).integers(0, k, size=n)
        else:
            labels = np.zeros(n, dtype=np.int64)
        result = LabelRound(labels, np.full(k, -1), np.zeros((k, 0), np.float32), np.arange(n), attrs)
    write_labels(out, result)
    return result
