"""Residual networks of Gulrajani et al.'s WGAN-GP CIFAR model, for 8x8, 32x32 and 48x48 images.

ResNet-A is that model (128 maps), ResNet-B doubles the maps (class-splitting GAN paper,
section 4), ``resnet_small`` takes the config's ``width`` (digits). The generator body uses
plain BatchNorm, so it serves an embedding-conditioned generator as well as a class-tree one
(class_tree.TreeGenerator swaps its BatchNorms for conditional ones). The critic has no
normalisation, as a WGAN-GP critic must not; its last hidden layer (ReLU, then the mean over
positions) is the clustering feature space.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dcgan import stages_for

WIDTHS = {"resnet_a": 128, "resnet_b": 256}  # resnet_small: the config's width


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.bn2, self.conv2 = nn.BatchNorm2d(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResNetGeneratorBody(nn.Module):
    """z -> start x start maps -> one UpBlock per 2x stage -> BN-ReLU-conv3x3-tanh."""

    def __init__(self, in_dim: int, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        n, self.start = stages_for(resolution)
        self.width = width
        self.fc = nn.Linear(in_dim, width * self.start**2)
        self.blocks = nn.Sequential(*[UpBlock(width, width) for _ in range(n)])
        self.bn = nn.BatchNorm2d(width)
        self.out = nn.Conv2d(width, channels, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.fc(z).view(len(z), self.width, self.start, self.start))
        return torch.tanh(self.out(F.relu(self.bn(h))))


class DownBlock(nn.Module):
    """Critic block: (ReLU-)conv-ReLU-conv(-meanpool), plus a 1x1-conv(-meanpool) shortcut.

    The first block of the critic (``first=True``) starts with a convolution, not a ReLU, on the
    image itself, as in the reference's optimised first block.
    """

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or down) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        skip = x
        if self.down:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + self.shortcut(skip)


class ResNetCriticBody(nn.Module):
    """One down block per 2x stage, two more at the lowest resolution, ReLU, mean over positions."""

    def __init__(self, channels: int, resolution: int, width: int) -> None:
        super().__init__()
        n, _ = stages_for(resolution)
        blocks = [DownBlock(channels, width, down=True, first=True)]
        blocks += [DownBlock(width, width, down=True) for _ in range(n - 1)]
        blocks += [DownBlock(width, width, down=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).mean(dim=(2, 3))
