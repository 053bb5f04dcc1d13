"""`acgan`: AC-GAN (Odena et al.), the supervised baseline: the dataset's classes, D with a real/fake
logit and an auxiliary classifier that learns on real and generated samples (L_C, eq. 3)."""

from __future__ import annotations

from ..core.artifacts import LabelRound
from .base import Method, RoundFeatures, ground_truth_round


class ACGAN(Method):
    name = "acgan"
    conditioning = "ac"
    ac_samples = "real_and_fake"
    assigns_by = "classifier"  # new data: argmax of D's classifier

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(dataset_classes or 1)

    def first_labels(self, spec: dict, round_features: RoundFeatures) -> LabelRound:
        return ground_truth_round(spec, round_features, self.name)
