"""The methods, one module each (base.py: the interface they implement); the registry every step reads.

Which method a run trains is ``spec['method']``; :func:`get_method` returns its object, and the steps
call its hooks (docs/design.md lists them). Importing this package needs no torch.
"""

from __future__ import annotations

from .acgan import ACGAN
from .base import Method, RoundFeatures
from .cgan import ConditionalGAN
from .online import OnlineClustering
from .pixelkmeans import PixelKMeans
from .random_labels import RandomLabels
from .selfcond import SelfConditioned
from .slcgan import SelfLabeled
from .splitting import ClassSplitting
from .uncond import Unconditional

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Unconditional(),
        ACGAN(),
        ConditionalGAN(),
        RandomLabels(),
        SelfConditioned(),
        PixelKMeans(),
        ClassSplitting(),
        SelfLabeled(),
        OnlineClustering(),
    )
}


def get_method(name: str) -> Method:
    """Look a method up by name, with an error that lists the available ones."""
    if name not in METHODS:
        raise ValueError(f"method {name!r} is not implemented; available: {', '.join(sorted(METHODS))}")
    return METHODS[name]


__all__ = ["METHODS", "Method", "RoundFeatures", "get_method"]
