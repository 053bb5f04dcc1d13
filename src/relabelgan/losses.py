"""GAN objectives as objects the training loop calls, chosen by name.

The loop only knows ``d_loss`` and ``g_loss``; which GAN it trains is the loss's business.
Each returns (loss, stats) where stats are floats for the training log.
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch
import torch.nn.functional as F

from .networks import Discriminator, Generator

Stats = dict[str, float]


class GANLoss(Protocol):
    def d_loss(
        self, G: Generator, D: Discriminator, real: torch.Tensor, y_real: torch.Tensor, z: torch.Tensor, y_fake: torch.Tensor
    ) -> tuple[torch.Tensor, Stats]: ...

    def g_loss(self, G: Generator, D: Discriminator, z: torch.Tensor, y_fake: torch.Tensor) -> tuple[torch.Tensor, Stats]: ...


class NonSaturatingLoss:
    """The standard GAN loss (D: logistic, G: non-saturating), with an optional auxiliary classifier.

    With an 'ac' discriminator, D is trained to classify real samples (weight ``ac_weight_d``) and
    G to make samples D classifies as their conditioning class (weight ``ac_weight_g``). Cross-entropy
    takes raw logits (no softmax before it).
    """

    def __init__(self, ac_weight_d: float = 1.0, ac_weight_g: float = 1.0) -> None:
        self.ac_weight_d = ac_weight_d
        self.ac_weight_g = ac_weight_g

    def d_loss(self, G, D, real, y_real, z, y_fake):
        with torch.no_grad():
            fake = G(z, y_fake)
        out_real, out_fake = D(real, y_real), D(fake, y_fake)
        loss = F.softplus(-out_real.adv).mean() + F.softplus(out_fake.adv).mean()
        stats = {"d_real": out_real.adv.mean().item(), "d_fake": out_fake.adv.mean().item()}
        if out_real.cls is not None:
            ac = F.cross_entropy(out_real.cls, y_real)
            loss = loss + self.ac_weight_d * ac
            stats["d_ac"] = ac.item()
            stats["d_ac_acc"] = (out_real.cls.argmax(1) == y_real).float().mean().item()
        return loss, stats

    def g_loss(self, G, D, z, y_fake):
        out = D(G(z, y_fake), y_fake)
        loss = F.softplus(-out.adv).mean()
        stats: Stats = {}
        if out.cls is not None:
            ac = F.cross_entropy(out.cls, y_fake)
            loss = loss + self.ac_weight_g * ac
            stats["g_ac"] = ac.item()
        return loss, stats


LOSSES: dict[str, Callable[[dict], GANLoss]] = {
    "nonsaturating": lambda spec: NonSaturatingLoss(spec["ac_weight_d"], spec["ac_weight_g"]),
}


def make_loss(name: str, spec: dict) -> GANLoss:
    """Build the loss registered under ``name`` from a run spec."""
    if name not in LOSSES:
        raise ValueError(f"loss {name!r} is not available; registered: {sorted(LOSSES)}")
    return LOSSES[name](spec)
