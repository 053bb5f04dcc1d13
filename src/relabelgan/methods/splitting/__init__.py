"""`splitting`: the class-splitting GAN (Grinblat et al., Algorithm 1): WGAN-GP with an auxiliary
classifier whose classes split in two at scheduled rounds.

``schedule: supervised`` starts from the dataset's classes, ``unsupervised`` from one class; rounds in
``split_rounds`` ('all' = every round after 0) split, the others carry the labels forward.

Relabel step (:func:`split_classes`): every class with more than ``split_threshold`` samples
(and, under ``split_test: bic``, whose features two Gaussians describe better than one by the
Bayesian information criterion: :func:`split_pays`) is split in two by 2-means on its samples'
critic features, normalised per ``normalise``
(``l2``: each sample to unit L2 norm, the default; ``batch_axis``: each feature dimension to
unit L2 norm over the class's samples; ``none``). New class ids follow the old classes'
order: an old class becomes one id (not split) or two consecutive ids (split), and
``parent[c]`` names the old class of new class c, so the class tree can be rebuilt from the
labels.h5 files alone (surgery.tree_from_rounds).

The model surgery after a split (which needs torch) is surgery.py, which :meth:`ClassSplitting.start_model`
loads when a phase starts from split labels; this module needs no torch, so the relabel step runs without it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...core.artifacts import ArtifactError, LabelRound
from ...core.seeding import derive_seed
from ..base import Method, RoundFeatures, carried_forward, fixed_round, ground_truth_round

NORMALISATIONS = ("l2", "batch_axis", "none")
SPLIT_TESTS = ("threshold", "bic")


def split_pays(x: np.ndarray, seed: int, subset: int) -> tuple[bool, float]:
    """Whether two Gaussians describe one class's (normalised) features better than one: (BIC of one
    Gaussian - BIC of a mixture of two, that gain > 0), each with a diagonal covariance, fitted by EM
    (scikit-learn's GaussianMixture) on at most ``subset`` seeded rows.

    BIC = -2 log-likelihood + parameters x log(n) (Schwarz, 1978), the criterion X-means uses to
    decide whether to split a centroid (Pelleg & Moore, 2000). A soft mixture gains nothing beyond
    noise on one Gaussian, which 2-means' hard split of it would seem to (a cut Gaussian has a
    smaller variance on each side). Diagonal: a full covariance has d(d+1)/2 parameters, which no
    class of a few thousand 128-512-d features can pay for; a spherical one splits every elongated class.
    """
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(seed)
    rows = x if len(x) <= subset else x[np.sort(rng.choice(len(x), subset, replace=False))]
    rows = np.asarray(rows, dtype=np.float64)
    bic = [
        GaussianMixture(n, covariance_type="diag", reg_covar=1e-6, random_state=seed % 2**32).fit(rows).bic(rows)
        for n in (1, 2)
    ]
    gain = float(bic[0] - bic[1])
    return gain > 0, gain


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
    test: str = "threshold",
) -> LabelRound:
    """Split every class of ``previous`` with more than ``threshold`` members in two (``test: bic``:
    only those :func:`split_pays` says two Gaussians fit better).

    ``features[i]`` belongs to the sample of ``previous.labels[i]``. A class whose 2-means
    leaves one side empty (all its features equal) is kept whole. Returns the new round with
    ``parent`` set and, per class, the centroid of its members' normalised features.
    """
    if test not in SPLIT_TESTS:
        raise ValueError(f"split_test {test!r} is unknown; choose from {SPLIT_TESTS}")
    from ...core.kmeans import cluster_round

    labels = np.empty_like(previous.labels)
    parent: list[int] = []
    centroids: list[np.ndarray] = []
    split, inertia, backend = [], 0.0, "none"
    bic_gain: dict[int, float] = {}
    for c in range(previous.k):
        members = np.flatnonzero(previous.labels == c)
        x = normalise_features(features[members], normalise)
        wanted = len(members) > threshold
        if wanted and test == "bic":
            wanted, bic_gain[c] = split_pays(x, derive_seed(seed, "split-test", c), int(kmeans["subset"]))
        if wanted:
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
        "split_test": test,
        "bic_gain": json.dumps({str(c): round(g, 1) for c, g in bic_gain.items()}),
        "normalise": normalise,
        "split_classes": json.dumps(split),
        "inertia": inertia,
        "backend": backend,
        "match_cost": -1,
    }
    return LabelRound(labels, np.array(parent), np.stack(centroids), previous.sample_index, attrs)


def split_round(
    spec: dict, rnd: int, previous: LabelRound | None, features: np.ndarray, sample_index: np.ndarray
) -> LabelRound:
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
        test=spec["split_test"],
    )


class ClassSplitting(Method):
    name = "splitting"
    conditioning = "ac"
    loss = "wgan_gp"
    relabels = True
    ac_samples = "real"  # the reference trains its critic's classifier on real samples only
    assigns_by = "centroids"

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(dataset_classes or 1) if spec["schedule"] == "supervised" else 1

    def class_tree(self, k: int) -> dict | None:
        from ...networks.class_tree import ClassTree

        return ClassTree.roots(k).to_record()  # k unrelated classes; splits add children

    def splits_at(self, spec: dict, rnd: int) -> bool:
        return rnd >= 1 and (spec["split_rounds"] == "all" or rnd in spec["split_rounds"])

    def label_source(self, spec: dict, rnd: int) -> str:
        if self.splits_at(spec, rnd):
            return "features"
        return "previous" if rnd > 0 else "dataset"

    def first_labels(self, spec: dict, round_features: RoundFeatures) -> LabelRound:
        if spec["schedule"] == "supervised":
            return ground_truth_round(spec, round_features, self.name)
        return fixed_round(np.zeros(len(round_features.features), dtype=np.int64), 1)

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        if rnd == 0:
            return self.first_labels(spec, round_features)
        if not self.splits_at(spec, rnd):
            return carried_forward(previous, self.name, rnd)
        return split_round(spec, rnd, previous, round_features.features, round_features.sample_index)

    def start_model(self, state: dict[str, Any], labels: LabelRound, labels_path: str, model_in: str) -> dict[str, Any]:
        """Model r-1, grown when the labels split its classes: children start as exact copies of their
        parents, Adam moments carried over (surgery.py)."""
        if labels.k > state["arch"]["n_classes"]:
            from .surgery import grow_checkpoint

            try:
                state = grow_checkpoint(state, labels)
            except ArtifactError as e:
                raise ArtifactError(f"{labels_path} with {model_in}: {e}") from e
            print(f"classes split, {state['method_state']['split_from_classes']} -> {labels.k}", flush=True)
        return super().start_model(state, labels, labels_path, model_in)
