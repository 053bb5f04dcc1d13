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

This module needs no torch and no dataset: it reads features.h5 (which carries the dataset's
ground truth and slcgan's argmax C(x) as columns, written by the phase that made the model) and
labels.h5, and clusters with scikit-learn (or cuML). It also scores the labels it writes against
the ground truth (NMI, purity, accuracy: :func:`label_quality`).
"""

from __future__ import annotations

import numpy as np

from .artifacts import (
    ArtifactError,
    LabelRound,
    provenance,
    read_feature_column,
    read_features,
    read_labels,
    write_labels,
)
from .clustering import clustering_metrics, contingency
from .kmeans import cluster_means, cluster_round
from .methods import Method, get_method
from .seeding import derive_seed
from .splitting import split_round
from .tidy import write_metric_rows


def class_parents(previous: LabelRound, labels: np.ndarray, k: int) -> np.ndarray:
    """For each new class, the previous class that gave it most members (-1 if it has none)."""
    both = contingency(previous.labels, labels, previous.k, k)
    parent = both.argmax(0)
    parent[both.sum(0) == 0] = -1
    return parent


def label_source(method: Method, spec: dict, rnd: int) -> str:
    """Where round ``rnd``'s labels come from: 'clusterer' (slcgan's argmax C(x), which its phase stored
    in features.h5), 'features' (k-means or a split of features.h5), 'previous' (carried forward) or
    'dataset' (round 0 of a method that does not cluster at round 0: ground truth, one class or random).
    """
    if method.clusterer:
        return "clusterer"
    if method.relabels_at(spec, rnd):
        return "features"
    return "previous" if rnd > 0 else "dataset"


def base_attrs(method: Method, spec: dict, rnd: int, previous_path: str | None) -> dict:
    """The attributes every labels.h5 records: method, round, seed, run and its previous labels."""
    attrs: dict = {"method": method.name, "round": rnd, "seed": spec["seed"], "run": spec["name"]}
    if previous_path:
        attrs["source_labels"] = provenance(previous_path)
    return attrs


def read_round_features(spec: dict, features_path: str, previous: LabelRound | None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(features, sample_index, attrs) of features.h5, refused when made for another run or other samples."""
    feats, sample_index, attrs = read_features(features_path)
    if attrs.get("run", spec["name"]) != spec["name"]:
        raise ArtifactError(f"{features_path}: made for run {attrs['run']!r}, not {spec['name']!r}; rerun the phase")
    if previous is not None and len(feats) != len(previous.labels):
        raise ArtifactError(
            f"{features_path}: {len(feats)} rows but the previous labels hold {len(previous.labels)} samples; rerun the phase"
        )
    return feats, sample_index, attrs


def relabel(spec: dict, rnd: int, out: str, features_path: str, previous_path: str | None = None) -> LabelRound:
    """Make round ``rnd``'s labels.h5 from the round's features.h5 and the previous labels; write ``out``.

    :func:`label_source` says where the labels come from; features.h5 is read for the sample count
    and ground truth (round 0), slcgan's argmax C(x), or the features to cluster.
    """
    method = get_method(spec["method"])
    source = label_source(method, spec, rnd)
    previous = read_labels(previous_path) if previous_path else None
    attrs = {**base_attrs(method, spec, rnd, previous_path), "source_features": provenance(features_path)}
    feats, sample_index, feature_attrs = read_round_features(spec, features_path, previous)
    if source == "dataset":
        result = _dataset_round(method, spec, features_path, feature_attrs, len(feats))
    elif source == "previous":
        if previous is None:
            raise ArtifactError(f"round {rnd} of method {method.name!r} carries the previous labels forward: pass --previous")
        # Fixed-label methods (and splitting between its split rounds) carry their labels
        # forward unchanged; each class is its own parent.
        result = LabelRound(previous.labels, np.arange(previous.k), previous.centroids, previous.sample_index, {})
    elif source == "clusterer":
        result = _clusterer_round(features_path, feats, sample_index, feature_attrs, previous)
    else:
        result = _cluster_features(method, spec, rnd, feats, sample_index, previous)
    result.attrs = {**attrs, **result.attrs}
    write_labels(out, result)
    return result


def label_quality(features_path: str, labels: LabelRound) -> dict[str, float]:
    """NMI, purity and accuracy of ``labels`` against the ground truth stored in features.h5 ({} without one)."""
    truth = read_feature_column(features_path, "truth")
    if truth is None:
        return {}
    return {f"labels_{k}": v for k, v in clustering_metrics(labels.labels, truth[labels.sample_index]).items()}


def write_label_quality(spec: dict, rnd: int, features_path: str, labels: LabelRound, out: str) -> None:
    """The round's label metrics as tidy rows (no rows for a dataset without ground truth)."""
    write_metric_rows(spec, rnd, label_quality(features_path, labels), out)


def _dataset_round(method: Method, spec: dict, features_path: str, feature_attrs: dict, n: int) -> LabelRound:
    """Round 0 of a method that does not cluster at round 0: ground truth, one class, or seeded uniform classes."""
    start = method.start_classes(spec)
    if start == "dataset":
        labels = read_feature_column(features_path, "truth")
        if labels is None:
            raise ArtifactError(
                f"{features_path}: dataset {spec['dataset']!r} has no ground-truth labels, "
                f"which method {method.name!r} starts from; pick a dataset with labels or another method"
            )
        k = int(feature_attrs["truth_classes"])
    elif start == "k":  # random labels: seeded uniform classes that never change
        k = int(spec["k"])
        labels = np.random.default_rng(derive_seed(spec["seed"], "relabel", 0)).integers(0, k, size=n)
    else:
        labels, k = np.zeros(n, dtype=np.int64), 1
    return LabelRound(labels, np.full(k, -1), np.zeros((k, 0), np.float32), np.arange(n), {})


def _clusterer_round(
    features_path: str, feats: np.ndarray, sample_index: np.ndarray, feature_attrs: dict, previous: LabelRound | None
) -> LabelRound:
    """slcgan: labels = argmax C(x), stored in features.h5 by the phase; centroids = class means of C's features.

    Class c is output c of C in every round, so no matching is needed; ``parent`` records where
    each class's members were in the previous round, as for the other methods.
    """
    labels = read_feature_column(features_path, "assigned")
    if labels is None or "clusterer_classes" not in feature_attrs:
        raise ArtifactError(f"{features_path}: has no column 'assigned' (argmax C(x)); it was not made for slcgan, rerun the phase")
    k = int(feature_attrs["clusterer_classes"])
    parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
    attrs = {"labels_from": "argmax C(x)", "source_model": feature_attrs.get("model", "")}  # C's checkpoint
    return LabelRound(labels, parent, cluster_means(feats, labels, k)[0], sample_index, attrs)


def _cluster_features(
    method: Method, spec: dict, rnd: int, feats: np.ndarray, sample_index: np.ndarray, previous: LabelRound | None
) -> LabelRound:
    """k-means of the features (selfcond) or the split of the previous classes (splitting)."""
    if method.grows:
        return split_round(spec, rnd, previous, feats, sample_index)
    k = int(spec["k"])
    seed = derive_seed(spec["seed"], "relabel", rnd)
    labels, centroids, attrs = cluster_round(
        feats, k, seed, spec["kmeans"], previous, spec["init"], spec["match"]
    )
    parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
    return LabelRound(labels, parent, centroids, sample_index, attrs)
