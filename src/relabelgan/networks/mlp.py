"""PacGAN's 2D networks, used by the self-conditioned GAN paper for ring and grid.

G: 4 hidden layers of 400 units, BatchNorm + ReLU. D: 3 maxout layers of 200 units
(5 pieces each); its last hidden layer is the clustering feature space.
"""

from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """Linear layer followed by a max over ``pieces`` linear pieces per unit."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 5) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(-1)


def mlp_generator_body(in_dim: int, out_dim: int = 2, hidden: int = 400, layers: int = 4) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU()]
    return nn.Sequential(*blocks, nn.Linear(hidden, out_dim))


def mlp_discriminator_body(in_dim: int = 2, hidden: int = 200, layers: int = 3, pieces: int = 5) -> nn.Sequential:
    return nn.Sequential(*[Maxout(in_dim if i == 0 else hidden, hidden, pieces) for i in range(layers)])
