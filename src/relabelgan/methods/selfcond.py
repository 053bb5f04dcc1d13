"""`selfcond`: the self-conditioned GAN (Liu et al.): k-means of D's features before every phase.

Round 0 clusters the randomly initialised D's features (k-means++, best of ``kmeans.n_init``); later
rounds start k-means from the previous clusters' means in the new feature space and match the new
clusters to the old by the Hungarian method (``init``, ``match``; kmeans.cluster_round).

``init_labels: truth`` starts instead from the dataset's own classes (the paper's "Ours + Supervised
Init."): with k = the class count they are round 0's labels as they are; with fewer clusters than
classes, whole classes are grouped by k-means of their mean features (:func:`truth_round`; more
clusters than classes are refused). Later rounds re-cluster as above.
"""

from __future__ import annotations

import numpy as np

from ..core.artifacts import ArtifactError, LabelRound
from ..core.errors import ConfigError
from ..core.seeding import derive_seed
from .base import Method, RoundFeatures, check_cluster_count, class_parents


class SelfConditioned(Method):
    name = "selfcond"
    conditioning = "heads"
    relabels = True
    assigns_by = "centroids"  # new data: nearest centroid of the round's clusters in D's features
    fakes = "paired"  # the reference Trainer: a D step's fakes take the real batch's classes (docs/methods.md)

    def check_run(self, name: str, run: dict, n_samples: int | None, source: str) -> None:
        check_cluster_count(name, run, n_samples, source, kmeans_subset=True)

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(spec["k"])

    def label_source(self, spec: dict, rnd: int) -> str:
        return "dataset" if rnd == 0 and spec["init_labels"] == "truth" else "features"

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        from ..core.kmeans import cluster_round

        if rnd == 0 and spec["init_labels"] == "truth":
            return truth_round(spec, round_features, self.name)
        k = int(spec["k"])
        labels, centroids, attrs = cluster_round(
            round_features.features,
            k,
            derive_seed(spec["seed"], "relabel", rnd),
            spec["kmeans"],
            previous,
            spec["init"],
            spec["match"],
        )
        parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
        return LabelRound(labels, parent, centroids, round_features.sample_index, attrs)


def truth_round(spec: dict, round_features: RoundFeatures, method: str) -> LabelRound:
    """Round 0 from the ground truth (``init_labels: truth``), in k classes; centroids = members' means.

    k = the dataset's class count: the true classes as they are (class c is true class c). k below it:
    the classes' mean features (the random-init D's, as k-means would see them) clustered into k groups
    by k-means (the run's ``kmeans`` settings, seeded), each true class going whole to its group, so
    every class of round 0 is a union of true classes and similar-looking ones share a class. k above
    it is refused: the truth has no more classes to give.
    """
    from ..core.kmeans import assign, cluster_means, fit_kmeans

    truth = round_features.column("truth")
    if truth is None:
        raise ArtifactError(
            f"{round_features.path}: dataset {spec['dataset']!r} has no ground-truth labels, which "
            f"init_labels: truth starts method {method!r} from; set init_labels: kmeans or pick a labelled dataset"
        )
    k, n_true = int(spec["k"]), int(round_features.attrs["truth_classes"])
    features = round_features.features
    attrs: dict = {"init": "truth", "labels_from": "ground truth", "truth_classes": n_true}
    if k > n_true:
        raise ConfigError(
            f"run {spec['name']!r}: k is {k} but dataset {spec['dataset']!r} has {n_true} classes, which "
            f"init_labels: truth starts from; lower k to at most {n_true} or set init_labels: kmeans"
        )
    if k == n_true:
        labels = truth
    else:
        means, counts = cluster_means(features, truth, n_true)
        present = np.flatnonzero(counts > 0)
        if len(present) < k:
            raise ConfigError(
                f"run {spec['name']!r}: k is {k} but only {len(present)} classes of dataset {spec['dataset']!r} "
                "have samples to group; lower k or set init_labels: kmeans"
            )
        cfg = spec["kmeans"]
        result = fit_kmeans(
            means[present].astype(np.float32),
            k,
            seed=derive_seed(spec["seed"], "relabel", 0, "truth"),
            n_init=cfg["n_init"],
            max_iter=cfg["max_iter"],
            backend=cfg["backend"],
        )
        group = np.full(n_true, -1, dtype=np.int64)
        group[present] = assign(means[present], result.centroids)
        labels = group[truth]
        attrs.update(
            {"labels_from": "ground truth, classes grouped by k-means of their means", "backend": result.backend}
        )
        attrs["truth_groups"] = group
    centroids = cluster_means(features, labels, k)[0].astype(np.float32)
    return LabelRound(labels, np.full(k, -1), centroids, round_features.sample_index, attrs)
