"""The methods table: what each method conditions on, which loss it trains and whether it relabels.

This is the registry every stage looks up by ``spec['method']``; docs/methods.md explains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotation only: the registry is read by torch-free steps (relabel, the Snakefile)
    from .datasets import Dataset


@dataclass(frozen=True)
class Method:
    name: str
    conditioning: str  # see networks.conditional.CONDITIONINGS
    loss: str  # a key of losses.LOSSES
    relabels: bool  # extracts features and clusters them between phases
    classes: str  # where round 0's class count comes from: 'one', 'k', 'dataset', 'schedule'
    grows: bool = False  # classes split between rounds; G conditions through a class tree
    clusterer: bool = False  # labels = argmax of the objective's own clustering network C, features = C's (slcgan)
    # An 'ac' D's classifier learns on 'real' samples only or on 'real_and_fake' (AC-GAN's L_C, eq. 3).
    ac_samples: str = "real"

    def ac_d_samples(self, spec: dict) -> str:
        """What D's auxiliary classifier learns on: the run's ``ac_d_samples``, 'auto' = this method's own."""
        return self.ac_samples if spec["ac_d_samples"] == "auto" else spec["ac_d_samples"]

    def start_classes(self, spec: dict) -> str:
        """Round 0's labels: 'one', 'k' or 'dataset' ('schedule': ground truth if supervised, else one)."""
        if self.classes == "schedule":
            return "dataset" if spec["schedule"] == "supervised" else "one"
        return self.classes

    def n_classes(self, spec: dict, dataset: Dataset) -> int:
        """Number of classes of round 0's labels (and of the initial networks)."""
        start = self.start_classes(spec)
        if start == "one":
            return 1
        if start == "dataset":
            return dataset.n_classes
        return int(spec["k"])

    def redraws_labels(self, spec: dict) -> bool:
        """Whether the training loop draws every batch's classes afresh (``random`` with ``random_labels: per_batch``)."""
        return self.classes == "k" and not self.relabels and spec["random_labels"] == "per_batch"

    def relabels_at(self, spec: dict, rnd: int) -> bool:
        """Whether round ``rnd``'s labels are made from that round's features.

        A growing method clusters only at its split rounds (``split_rounds``, 'all' = every
        round after 0); its other rounds carry the labels forward.
        """
        if not self.relabels:
            return False
        if not self.grows:
            return True
        return rnd >= 1 and (spec["split_rounds"] == "all" or rnd in spec["split_rounds"])


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("uncond", "none", "nonsaturating", relabels=False, classes="one"),
        Method("acgan", "ac", "nonsaturating", relabels=False, classes="dataset", ac_samples="real_and_fake"),
        Method("random", "heads", "nonsaturating", relabels=False, classes="k"),
        Method("selfcond", "heads", "nonsaturating", relabels=True, classes="k"),
        # The class-splitting reference trains its critic's classifier on real samples only.
        Method("splitting", "ac", "wgan_gp", relabels=True, classes="schedule", grows=True, ac_samples="real"),
        Method("slcgan", "projection", "slcgan", relabels=True, classes="k", clusterer=True),
    )
}


def get_method(name: str) -> Method:
    """Look a method up by name, with an error that lists the available ones."""
    if name not in METHODS:
        raise ValueError(f"method {name!r} is not implemented; available: {', '.join(sorted(METHODS))}")
    return METHODS[name]
