"""The data as its own feature space: what the raw-data k-means baseline (`pixelkmeans`) clusters."""

from __future__ import annotations

import torch
from torch import nn


class RawFeatures(nn.Module):
    """``features(x)`` = x flattened (pixels, or 2D coordinates): no network in between."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).float()
