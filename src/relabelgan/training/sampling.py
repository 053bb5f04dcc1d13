"""The batch plan: how a phase draws real batches, fake classes and z from its one seeded stream.

Real samples are drawn uniformly (so classes come in proportion to their size), with their labels
or (``Sampling.real_labels: random``) fresh uniform classes; fake classes in proportion to the class
sizes or uniformly; with ``Sampling.paired`` a D step's fakes take the real batch's classes and the G
step reuses that z and those classes, as the self-conditioned GAN's Trainer does. Every draw comes
from the phase generator in a fixed order, so a phase is reproducible and resumes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .accel import BatchSource
from .plan import Sampling


@dataclass
class Batch:
    """What one update sees; a field an update does not draw is None. ``gen``: the stream it came
    from, for losses that draw more (slcgan's augmentations)."""

    gen: torch.Generator
    real: torch.Tensor | None = None
    y_real: torch.Tensor | None = None
    z: torch.Tensor | None = None
    y_fake: torch.Tensor | None = None


class BatchPlan:
    """Draws a phase's batches (see the module docstring) from ``gen``."""

    def __init__(
        self,
        sampling: Sampling,
        x_all: BatchSource,
        y_all: torch.Tensor,
        idx_all: torch.Tensor,
        k: int,
        sizes: torch.Tensor,
        batch_size: int,
        z_dim: int,
        gen: torch.Generator,
    ) -> None:
        self.sampling, self.x_all, self.y_all, self.idx_all = sampling, x_all, y_all, idx_all
        self.k, self.sizes, self.batch_size, self.z_dim, self.gen = k, sizes, batch_size, z_dim, gen
        self.device = y_all.device
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None  # the last D step's (z, classes)

    @property
    def fake_weights(self) -> torch.Tensor:
        """What G is conditioned on during training, kept as the checkpoint's sampling weights."""
        return torch.ones(self.k) if self.sampling.fake_classes == "uniform" else torch.as_tensor(self.sizes)

    def draw(self, draws: str) -> Batch:
        """The batch of an update that ``draws`` real_and_fake, fake or real (training/plan.py)."""
        if draws == "real":
            return Batch(self.gen, real=self._real()[0])
        if draws == "fake":
            z, y_fake = self._g_fakes()
            return Batch(self.gen, z=z, y_fake=y_fake)
        real, y_real = self._real()
        z, y_fake = self._d_fakes(y_real)
        return Batch(self.gen, real=real, y_real=y_real, z=z, y_fake=y_fake)

    def _indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(len(self.y_all), (self.batch_size,), device=self.device, generator=self.gen)
        return i, self.y_all[i]

    def _real(self) -> tuple[torch.Tensor, torch.Tensor]:
        i, y = self._indices()
        if self.sampling.real_labels == "random":
            y = torch.randint(self.k, (len(i),), device=self.device, generator=self.gen)
        return self.x_all(self.idx_all[i]), y

    def _fake_classes(self) -> torch.Tensor:
        if self.sampling.fake_classes == "uniform":
            return torch.randint(self.k, (self.batch_size,), device=self.device, generator=self.gen)
        return self._indices()[1]  # same random stream as a full draw, without gathering images

    def _z(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.z_dim, device=self.device, generator=self.gen)

    def _d_fakes(self, y_real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self._z()
        self._last = (z, y_real if self.sampling.paired else self._fake_classes())
        return self._last

    def _g_fakes(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.sampling.paired and self._last is not None:
            return self._last
        return self._z(), self._fake_classes()
