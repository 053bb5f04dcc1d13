"""`cgan`: the class-conditional GAN on the dataset's classes with a projection discriminator
(Miyato & Koyama, 2018): the "cGAN" rows of the self-labeled conditional GAN paper (Tables 1-2, the
same networks trained on ground-truth labels).

Its real/fake logit is conditioned on the class (logit = w·h + embed(y)·h), so D judges each class's
samples against that class's real data; AC-GAN's real/fake logit is the same for every class and its
classifier only asks that a sample be recognisable. On digits that difference is what separates a
collapsed supervised baseline from a varied one (docs/methods.md; docs/results.md, "default-digits").
"""

from __future__ import annotations

from ..core.artifacts import LabelRound
from .base import Method, RoundFeatures, ground_truth_round


class ConditionalGAN(Method):
    name = "cgan"
    conditioning = "projection"
    other_conditionings = ("heads",)  # the self-conditioned GAN's class-conditional row (its Table 2)

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(dataset_classes or 1)

    def first_labels(self, spec: dict, round_features: RoundFeatures) -> LabelRound:
        return ground_truth_round(spec, round_features, self.name)
