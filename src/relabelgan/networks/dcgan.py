"""DCGAN networks (the SN-GAN paper's CIFAR variant), for any resolution of the form s * 2^n.

Used for digits (8x8, two up-sampling stages) and 32x32 / 48x48 images (three stages).
The discriminator's last convolution output is the clustering feature space, as in the
self-conditioned GAN paper.
"""

from __future__ import annotations

import torch
from torch import nn


def stages_for(resolution: int) -> tuple[int, int]:
    """(number of 2x stages, start side) for a resolution: 8 -> (2, 2), 32 -> (3, 4), 48 -> (3, 6)."""
    n = 3 if resolution >= 16 else 2
    if resolution % (2**n):
        raise ValueError(f"resolution {resolution} is not divisible by {2**n}")
    return n, resolution // 2**n


class DCGANGeneratorBody(nn.Module):
    def __init__(self, in_dim: int, channels: int, resolution: int, width: int = 64) -> None:
        super().__init__()
        n, self.start = stages_for(resolution)
        top = width * 2**n
        self.top = top
        self.fc = nn.Linear(in_dim, top * self.start**2)
        blocks: list[nn.Module] = [nn.BatchNorm2d(top), nn.ReLU()]
        c = top
        for _ in range(n):
            blocks += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        blocks += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(len(z), self.top, self.start, self.start))


def dcgan_discriminator_body(
    channels: int, resolution: int, width: int = 64, batchnorm: bool = False
) -> tuple[nn.Sequential, int]:
    """Conv stack and its flattened output size.

    ``batchnorm``: a BatchNorm after every convolution but the first, as the DCGAN and AC-GAN
    discriminators have. D sees a batch of fakes apart from the real batch, so the batch statistics
    tell it when G's samples are all alike; without them the digits models collapsed to one image per
    class (docs/methods.md, "Networks"). Off for a WGAN-GP critic, whose penalty is per sample.
    """
    n, start = stages_for(resolution)
    layers: list[nn.Module] = []
    c_in = channels

    def conv(c_in: int, c_out: int, kernel: int, stride: int, first: bool = False) -> list[nn.Module]:
        norm = [nn.BatchNorm2d(c_out)] if batchnorm and not first else []
        return [nn.Conv2d(c_in, c_out, kernel, stride, 1), *norm, nn.LeakyReLU(0.1)]

    for i in range(n):
        c = width * 2**i
        layers += conv(c_in, c, 3, 1, first=i == 0)
        layers += conv(c, 2 * c, 4, 2)
        c_in = 2 * c
    layers += conv(c_in, c_in, 3, 1)
    return nn.Sequential(*layers), c_in * start * start
