"""`random`: the self-conditioned GAN paper's random-labels baseline (k classes that carry no information).

``random_labels: per_batch`` (the default) follows the reference code (clusterers/random_labels.py):
every batch's real samples get fresh uniform classes and G's classes are uniform, so each of D's k
heads sees all the data over training. ``fixed`` gives each sample one seeded class for the whole run.
"""

from __future__ import annotations

import numpy as np

from ..core.artifacts import LabelRound
from ..core.seeding import derive_seed
from ..training.plan import Sampling
from .base import Method, RoundFeatures, check_cluster_count, fixed_round


class RandomLabels(Method):
    name = "random"
    conditioning = "heads"
    fakes = "paired"  # the reference trains this baseline with selfcond's Trainer

    def check_run(self, name: str, run: dict, n_samples: int | None, source: str) -> None:
        check_cluster_count(name, run, n_samples, source, kmeans_subset=False)

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(spec["k"])

    def first_labels(self, spec: dict, round_features: RoundFeatures) -> LabelRound:
        k, n = int(spec["k"]), len(round_features.features)
        labels = np.random.default_rng(derive_seed(spec["seed"], "relabel", 0)).integers(0, k, size=n)
        return fixed_round(labels, k)

    def sampling(self, spec: dict) -> Sampling:
        # per_batch: every real batch gets fresh uniform classes, and so do the fakes (the reference's baseline)
        per_batch = spec["random_labels"] == "per_batch"
        return Sampling(
            fake_classes="uniform" if per_batch else "labels",
            real_labels="random" if per_batch else "labels",
            paired=self.fake_batch(spec) == "paired",
        )
