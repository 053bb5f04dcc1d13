"""The 2D Gaussian mixtures (PacGAN / self-conditioned GAN section 4.2): ``ring`` and ``grid``, sampled from the spec's seed."""

from __future__ import annotations

import math

import torch

from .base import Dataset


def ring_means(modes: int, radius: float) -> torch.Tensor:
    """Means of the 2D ring: ``radius * (cos 2πi/m, sin 2πi/m)``."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)).float()


def grid_means(side: int, spacing: float) -> torch.Tensor:
    """Means of the 2D grid, centred on the origin: for side 5, spacing 2 they are (2i-4, 2j-4)."""
    offsets = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(offsets, offsets, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1).float()


def _mixture(name: str, means: torch.Tensor, std: float, n: int, seed: int) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(len(means), (n,), generator=g)
    x = means[y] + std * torch.randn(n, 2, generator=g)
    return Dataset(name, x, y, len(means), means=means, std=std)


def load_ring(name: str, spec: dict) -> Dataset:
    means = ring_means(int(spec["modes"]), float(spec["radius"]))
    return _mixture(name, means, float(spec["std"]), int(spec["n"]), int(spec["seed"]))


def load_grid(name: str, spec: dict) -> Dataset:
    means = grid_means(int(spec["side"]), float(spec["spacing"]))
    return _mixture(name, means, float(spec["std"]), int(spec["n"]), int(spec["seed"]))
