"""The methods table: what each method conditions on, which loss it trains and whether it relabels.

This is the registry every stage looks up by ``spec['method']``; docs/methods.md explains it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .datasets import Dataset


@dataclass(frozen=True)
class Method:
    name: str
    conditioning: str  # see networks.conditional.CONDITIONINGS
    loss: str  # a key of losses.LOSSES
    relabels: bool  # extracts features and clusters them between phases
    classes: str  # where round 0's class count comes from: 'one', 'k', 'dataset'

    def n_classes(self, spec: dict, dataset: Dataset) -> int:
        """Number of classes of round 0's labels (and of the initial networks)."""
        if self.classes == "one":
            return 1
        if self.classes == "dataset":
            return dataset.n_classes
        return int(spec["k"])


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("uncond", "none", "nonsaturating", relabels=False, classes="one"),
        Method("acgan", "ac", "nonsaturating", relabels=False, classes="dataset"),
        Method("random", "heads", "nonsaturating", relabels=False, classes="k"),
        Method("selfcond", "heads", "nonsaturating", relabels=True, classes="k"),
    )
}


def get_method(name: str) -> Method:
    """Look a method up by name, with an error that lists the available ones."""
    if name not in METHODS:
        raise ValueError(f"method {name!r} is not implemented; available: {', '.join(sorted(METHODS))}")
    return METHODS[name]
