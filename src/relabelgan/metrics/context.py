"""What every per-round model metric is computed from: one :class:`RoundContext` per round, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..core.artifacts import LabelRound
from ..core.progress import Stages
from ..core.seeding import derive_seed
from ..data.base import Dataset
from ..training.samples import class_weights, generate
from .registry import protocol

if TYPE_CHECKING:
    from ..networks import Generator
    from .evaluator import Evaluator


@dataclass
class RoundContext:
    """A model at round ``rnd`` with its run, data and labels; generated samples and the evaluator's
    reading of them are made on first use and then shared by every metric."""

    spec: dict
    rnd: int
    G: Generator
    state: dict  # the model's checkpoint (arch, method_state): z_dim and the class weights G trained with
    data: Dataset
    labels: LabelRound | None  # the labels G was trained on (None at round 0)
    device: torch.device
    evaluator: Evaluator | None = None
    stages: Stages = field(default_factory=lambda: Stages("evaluate"))

    @property
    def final(self) -> bool:
        return self.rnd == int(self.spec["rounds"])

    @property
    def n(self) -> int:
        return int(self.spec["eval_samples"])

    @property
    def tag(self) -> str:
        return protocol(self.n)

    @cached_property
    def samples(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, classes) of ``eval_samples`` samples from G, seeded per round."""
        z_dim = self.state["arch"]["z_dim"]
        seed = derive_seed(self.spec["seed"], "eval", self.rnd)
        out = generate(self.G, self.n, z_dim, class_weights(self.state), seed, self.device)
        self.stages.done(f"{self.n:,} samples generated")
        return out

    @cached_property
    def classified(self) -> Any:
        """The evaluator's (predictions, features, classes possible) of the samples."""
        assert self.evaluator is not None
        return self.evaluator.classify(self.samples[0])

    @property
    def predicted(self) -> np.ndarray | None:
        """The evaluator's one class per sample, where it reads one class per image (not Stacked MNIST's
        per-channel triples: 1,000 classes, too many MS-SSIM pairs for a CPU)."""
        if self.evaluator is None or self.evaluator.per_channel(self.samples[0]):
            return None
        return self.classified[0]
