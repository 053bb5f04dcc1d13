"""Class splitting (class-splitting GAN, Algorithm 1): the relabel step that splits classes.

Relabel step (:func:`split_classes`): every class with more than ``split_threshold`` samples
is split in two by 2-means on its samples' critic features, normalised per ``normalise``
(``l2``: each sample to unit L2 norm, the default; ``batch_axis``: each feature dimension to
unit L2 norm over the class's samples; ``none``). New class ids follow the old classes'
order: an old class becomes one id (not split) or two consecutive ids (split), and
``parent[c]`` names the old class of new class c, so the class tree can be rebuilt from the
labels.h5 files alone (surgery.tree_from_rounds).

The model surgery after a split (which needs torch) is surgery.py; this module needs none, so
the relabel step runs without importing torch.
"""

from __future__ import annotations

import json

import numpy as np

from .artifacts import ArtifactError, LabelRound
from .kmeans import cluster_round
from .seeding import derive_seed

NORMALISATIONS = ("l2", "batch_axis", "none")


def normalise_features(x: np.ndarray, how: str) -> np.ndarray:
    """Normalise one class's features before 2-means (see the module docstring)."""
    if how not in NORMALISATIONS:
        raise ValueError(f"normalise {how!r} is unknown; choose from {NORMALISATIONS}")
    x = np.asarray(x, dtype=np.float32)
    if how == "none" or len(x) == 0:
        return x
    from sklearn.preprocessing import normalize  # lazily: relabel rounds that do not split skip scikit-learn

    return normalize(x, norm="l2", axis=1 if how == "l2" else 0).astype(np.float32)


def split_classes(
    features: np.ndarray,
    previous: LabelRound,
    threshold: int,
    normalise: str,
    seed: int,
    kmeans: dict,
) -> LabelRound:
    """Split every class of ``previous`` with more than ``threshold`` members in two.

    ``features[i]`` belongs to the sample of ``previous.labels[i]``. A class whose 2-means
    leaves one side empty (all its features equal) is kept whole. Returns the new round with
    ``parent`` set and, per class, the centroid of its members' normalised features.
    """
    labels = np.empty_like(previous.labels)
    parent: list[int] = []
    centroids: list[np.ndarray] = []
    split, inertia, backend = [], 0.0, "none"
    for c in range(previous.k):
        members = np.flatnonzero(previous.labels == c)
        x = normalise_features(features[members], normalise)
        if len(members) > threshold:
            sides, cents, attrs = cluster_round(x, 2, derive_seed(seed, "split", c), kmeans)
            if np.bincount(sides, minlength=2).min() > 0:
                labels[members] = len(parent) + sides
                parent += [c, c]
                centroids += list(cents)
                split.append(c)
                inertia += attrs["inertia"]
                backend = attrs["backend"]
                continue
        labels[members] = len(parent)
        parent.append(c)
        centroids.append(x.mean(0) if len(x) else np.zeros(features.shape[1], np.float32))
    attrs = {
        "split_threshold": int(threshold),
        "normalise": normalise,
        "split_classes": json.dumps(split),
        "inertia": inertia,
        "backend": backend,
        "match_cost": -1,
    }
    return LabelRound(labels, np.array(parent), np.stack(centroids), previous.sample_index, attrs)


def split_round(spec: dict, rnd: int, previous: LabelRound | None, features: np.ndarray, sample_index: np.ndarray) -> LabelRound:
    """Round ``rnd``'s split of ``previous`` with the run's threshold, normalisation and k-means settings."""
    if previous is None:
        raise ValueError(f"splitting round {rnd} splits the previous round's classes: pass --previous")
    if not np.array_equal(sample_index, previous.sample_index):
        raise ArtifactError(
            "features.h5 and the previous labels.h5 list different samples (sample_index); "
            "rerun extract and relabel for this run"
        )
    return split_classes(
        features,
        previous,
        threshold=int(spec["split_threshold"]),
        normalise=spec["normalise"],
        seed=derive_seed(spec["seed"], "relabel", rnd),
        kmeans=spec["kmeans"],
    )
