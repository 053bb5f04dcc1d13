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


# The self-conditioned GAN's Stacked-MNIST networks (stevliu/self-conditioned-gan,
# gan_training/models/dcgan_shallow.py), for its 32x32 images only.
SHALLOW_RESOLUTION = 32


def _check_shallow(resolution: int) -> None:
    if resolution != SHALLOW_RESOLUTION:
        from ..core.errors import ConfigError

        raise ConfigError(
            f"arch dcgan_shallow is the self-conditioned GAN's 32x32 Stacked-MNIST network, but the dataset's "
            f"images are {resolution}x{resolution}; set arch: dcgan (any size) or a 32 px dataset"
        )


class ShallowDCGANGeneratorBody(nn.Module):
    """A linear map to 4x4x(8w), three 4x4 stride-2 transposed convolutions halving the channels, each
    with BatchNorm and ReLU, then a 3x3 convolution to the image and tanh (no BatchNorm after the linear
    map, unlike :class:`DCGANGeneratorBody`)."""

    def __init__(self, in_dim: int, channels: int, resolution: int, width: int = 64) -> None:
        super().__init__()
        _check_shallow(resolution)
        self.top = width * 8
        self.fc = nn.Linear(in_dim, self.top * 4 * 4)
        blocks: list[nn.Module] = []
        c = self.top
        for _ in range(3):
            blocks += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        blocks += [nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(len(z), self.top, 4, 4))


def shallow_dcgan_discriminator_body(
    channels: int, resolution: int, width: int = 64, batchnorm: bool = True
) -> tuple[nn.Sequential, int]:
    """Four 4x4 stride-2 convolutions, channels -> w -> 2w -> 4w -> 8w, each followed by BatchNorm (the
    first too, as the reference has it) and LeakyReLU 0.2; the flattened 2x2x8w output (2,048 values at
    width 64) is the feature space the self-conditioned GAN clusters."""
    _check_shallow(resolution)
    layers: list[nn.Module] = []
    c_in = channels
    for i in range(4):
        c_out = width * 2**i
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), *([nn.BatchNorm2d(c_out)] if batchnorm else [])]
        layers += [nn.LeakyReLU(0.2)]
        c_in = c_out
    side = resolution // 2**4
    return nn.Sequential(*layers), c_in * side * side
