"""`selfcond`: the self-conditioned GAN (Liu et al.): k-means of D's features before every phase.

Round 0 clusters the randomly initialised D's features (k-means++, best of ``kmeans.n_init``); later
rounds start k-means from the previous clusters' means in the new feature space and match the new
clusters to the old by the Hungarian method (``init``, ``match``; kmeans.cluster_round).
"""

from __future__ import annotations

import numpy as np

from ..core.artifacts import LabelRound
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
        return "features"

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        from ..core.kmeans import cluster_round

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
