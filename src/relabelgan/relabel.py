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

This module needs no torch: it reads features.h5 and labels.h5 and clusters with scikit-learn
(or cuML). The two kinds of labels that need the dataset or a network (round 0's labels from
the dataset, slcgan's argmax C(x)) are made by torch_labels.py; :func:`label_source` says which
a round takes, so the CLI loads torch only for those.
"""

from __future__ import annotations

import numpy as np

from .artifacts import ArtifactError, LabelRound, provenance, read_features, read_labels, write_labels
from .clustering import contingency
from .kmeans import cluster_round
from .methods import Method, get_method
from .seeding import derive_seed
from .splitting import split_round


def class_parents(previous: LabelRound, labels: np.ndarray, k: int) -> np.ndarray:
    """For each new class, the previous class that gave it most members (-1 if it has none)."""
    both = contingency(previous.labels, labels, previous.k, k)
    parent = both.argmax(0)
    parent[both.sum(0) == 0] = -1
    return parent


def label_source(method: Method, spec: dict, rnd: int) -> str:
    """Where round ``rnd``'s labels come from: 'clusterer' (slcgan's C, in the round's model.pt),
    'features' (k-means or a split of features.h5), 'previous' (carried forward) or 'dataset'
    (round 0 of a method that does not cluster at round 0: ground truth, one class or random).
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


def read_round_features(spec: dict, features_path: str, previous: LabelRound | None) -> tuple[np.ndarray, np.ndarray]:
    """(features, sample_index) of features.h5, refused when made for another run or other samples."""
    feats, sample_index, attrs = read_features(features_path)
    if attrs.get("run", spec["name"]) != spec["name"]:
        raise ArtifactError(f"{features_path}: made for run {attrs['run']!r}, not {spec['name']!r}; rerun extract")
    if previous is not None and len(feats) != len(previous.labels):
        raise ArtifactError(
            f"{features_path}: {len(feats)} rows but the previous labels hold {len(previous.labels)} samples; rerun extract"
        )
    return feats, sample_index


def relabel(spec: dict, rnd: int, out: str, features_path: str | None = None, previous_path: str | None = None) -> LabelRound:
    """Make round ``rnd``'s labels.h5 from features (k-means, or a split) or the previous labels; write ``out``.

    For rounds whose :func:`label_source` is 'dataset' or 'clusterer' see torch_labels.py.
    """
    method = get_method(spec["method"])
    source = label_source(method, spec, rnd)
    if source not in ("features", "previous"):
        raise ValueError(f"round {rnd} of method {method.name!r} takes its labels from the {source}: see torch_labels.py")
    previous = read_labels(previous_path) if previous_path else None
    attrs = base_attrs(method, spec, rnd, previous_path)
    if source == "previous":
        if previous is None:
            raise ValueError(f"round {rnd} of method {method.name!r} carries the previous labels forward: pass --previous")
        # Fixed-label methods (and splitting between its split rounds) carry their labels
        # forward unchanged; each class is its own parent.
        result = LabelRound(previous.labels, np.arange(previous.k), previous.centroids, previous.sample_index, attrs)
    else:
        if features_path is None:
            raise ValueError(f"method {method.name!r} relabels from features: pass --features")
        feats, sample_index = read_round_features(spec, features_path, previous)
        attrs["source_features"] = provenance(features_path)
        result = _cluster_features(method, spec, rnd, feats, sample_index, previous)
        result.attrs = {**attrs, **result.attrs}
    write_labels(out, result)
    return result


def _cluster_features(
    method: Method, spec: dict, rnd: int, feats: np.ndarray, sample_index: np.ndarray, previous: LabelRound | None
) -> LabelRound:
    """k-means of the features (selfcond) or the split of the previous classes (splitting)."""
    if method.grows:
        return split_round(spec, rnd, previous, feats, sample_index)
    k = int(spec["k"])
    seed = derive_seed(spec["seed"], "relabel", rnd)
    labels, centroids, attrs = cluster_round(
        feats, k, seed, spec["kmeans"], previous, spec.get("init", "warm"), spec.get("match", "hungarian")
    )
    parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
    return LabelRound(labels, parent, centroids, sample_index, attrs)
