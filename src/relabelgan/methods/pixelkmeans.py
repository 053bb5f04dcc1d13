"""`pixelkmeans`: the self-conditioned GAN with k-means on the data itself (pixels, or 2D coordinates)
instead of D's features: the ablation of "why cluster the discriminator's features?".

Everything else is selfcond's (k heads, the same k-means, warm start and Hungarian matching). The data do
not change between rounds, so later rounds only refit k-means on the same points (another seeded subset of
``kmeans.subset``): the classes stay put up to k-means' own variation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .selfcond import SelfConditioned

if TYPE_CHECKING:
    from torch import nn


class PixelKMeans(SelfConditioned):
    name = "pixelkmeans"

    def feature_network(self, networks: dict[str, nn.Module]) -> tuple[nn.Module, str]:
        from ..networks.raw import RawFeatures

        return RawFeatures(), "data"
