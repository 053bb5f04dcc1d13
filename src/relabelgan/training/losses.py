"""GAN objectives as objects the training loop calls, chosen by name.

The loop only calls ``loss(update, networks, batch)`` for each update of the method's list; which GAN
it trains is the objective's business. A method with an objective of its own (slcgan) builds it in its
package; LOSSES holds the generic ones.
Each returns (loss, stats) where stats are scalars (floats or detached tensors) for the training log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import torch
import torch.nn.functional as F

from ..networks import Discriminator, Generator

if TYPE_CHECKING:
    from torch import nn

    from .sampling import Batch

Stats = dict[str, float | torch.Tensor]


class Objective(Protocol):
    """What the loop calls: the loss of one update (by network name) on the batch that update drew."""

    def loss(self, update: str, nets: dict[str, nn.Module], batch: Batch) -> tuple[torch.Tensor, Stats]: ...


class GANLoss(Objective, Protocol):
    def d_loss(
        self,
        G: Generator,
        D: Discriminator,
        real: torch.Tensor,
        y_real: torch.Tensor,
        z: torch.Tensor,
        y_fake: torch.Tensor,
    ) -> tuple[torch.Tensor, Stats]: ...

    def g_loss(
        self, G: Generator, D: Discriminator, z: torch.Tensor, y_fake: torch.Tensor
    ) -> tuple[torch.Tensor, Stats]: ...


def _stat(x: torch.Tensor) -> torch.Tensor:
    # Stats stay tensors until the loop logs them, so a GPU step does not wait on a host read.
    return x.detach()


class _GANUpdates:
    """The two updates of a plain GAN objective: D's and G's, by network name."""

    def d_loss(self, G, D, real, y_real, z, y_fake) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def g_loss(self, G, D, z, y_fake) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def loss(self, update: str, nets: dict, batch: Batch) -> tuple[torch.Tensor, Stats]:
        if update == "D":
            return self.d_loss(nets["G"], nets["D"], batch.real, batch.y_real, batch.z, batch.y_fake)
        if update == "G":
            return self.g_loss(nets["G"], nets["D"], batch.z, batch.y_fake)
        raise ValueError(f"{type(self).__name__} has no update {update!r}; its updates are D and G")


class _AuxiliaryClassifier(_GANUpdates):
    """The auxiliary-classifier terms both AC losses share.

    G learns to make samples D classifies as their conditioning class. D's classifier learns on
    real samples, and with ``d_classifies_fakes`` also on G's samples with the class G was given:
    AC-GAN's L_C (Odena et al., eq. 3) has both terms; the class-splitting reference's WGAN-GP
    critic has the real one only.
    """

    ac_weight_d: float
    ac_weight_g: float
    d_classifies_fakes: bool

    def _d_ac(
        self, loss: torch.Tensor, out_real, y_real: torch.Tensor, out_fake, y_fake: torch.Tensor, stats: dict
    ) -> torch.Tensor:
        if out_real.cls is None:
            return loss
        ac = F.cross_entropy(out_real.cls, y_real)  # raw logits: no softmax before cross-entropy
        stats["d_ac"] = _stat(ac)
        stats["d_ac_acc"] = _stat((out_real.cls.argmax(1) == y_real).float().mean())
        if self.d_classifies_fakes:
            ac_fake = F.cross_entropy(out_fake.cls, y_fake)
            stats["d_ac_fake"] = _stat(ac_fake)
            ac = ac + ac_fake  # L_C is a sum over real and fake, as L_S is
        return loss + self.ac_weight_d * ac

    def _g_ac(self, loss: torch.Tensor, out, y_fake: torch.Tensor, stats: dict) -> torch.Tensor:
        if out.cls is None:
            return loss
        ac = F.cross_entropy(out.cls, y_fake)
        stats["g_ac"] = _stat(ac)
        return loss + self.ac_weight_g * ac


class NonSaturatingLoss(_AuxiliaryClassifier):
    """The standard GAN loss (D: logistic, G: non-saturating), with an optional auxiliary classifier.

    With an 'ac' discriminator this is AC-GAN: D is trained to classify real samples and, with
    ``d_classifies_fakes``, G's samples as their conditioning class (weight ``ac_weight_d``), and
    G to make samples D classifies as their conditioning class (weight ``ac_weight_g``).
    """

    def __init__(self, ac_weight_d: float = 1.0, ac_weight_g: float = 1.0, d_classifies_fakes: bool = True) -> None:
        self.ac_weight_d = ac_weight_d
        self.ac_weight_g = ac_weight_g
        self.d_classifies_fakes = d_classifies_fakes

    def d_loss(self, G, D, real, y_real, z, y_fake):
        with torch.no_grad():
            fake = G(z, y_fake)
        out_real, out_fake = D(real, y_real), D(fake, y_fake)
        loss = F.softplus(-out_real.adv).mean() + F.softplus(out_fake.adv).mean()
        stats = {"d_real": _stat(out_real.adv.mean()), "d_fake": _stat(out_fake.adv.mean())}
        return self._d_ac(loss, out_real, y_real, out_fake, y_fake, stats), stats

    def g_loss(self, G, D, z, y_fake):
        out = D(G(z, y_fake), y_fake)
        stats: Stats = {}
        return self._g_ac(F.softplus(-out.adv).mean(), out, y_fake, stats), stats


class WGANGPLoss(_AuxiliaryClassifier):
    """WGAN-GP (Gulrajani et al.) with an optional auxiliary classifier, as the class-splitting GAN trains.

    Critic: E[D(fake)] - E[D(real)] + ``gp_lambda`` * E[(||grad D(x_hat)|| - 1)^2] on random
    interpolates x_hat, plus ``ac_weight_d`` * cross-entropy of its class logits on real samples
    (and on fakes with ``d_classifies_fakes``; the reference: real only). Generator: -E[D(fake)] +
    ``ac_weight_g`` * cross-entropy on its own samples. The reference uses weights 1.0 (critic,
    real) and 0.1 (generator).
    """

    def __init__(
        self,
        gp_lambda: float = 10.0,
        ac_weight_d: float = 1.0,
        ac_weight_g: float = 0.1,
        d_classifies_fakes: bool = False,
    ) -> None:
        self.gp_lambda = gp_lambda
        self.ac_weight_d = ac_weight_d
        self.ac_weight_g = ac_weight_g
        self.d_classifies_fakes = d_classifies_fakes

    def gradient_penalty(self, D, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """E[(||grad_x D(x)|| - 1)^2] at points uniformly between paired real and fake samples."""
        alpha = torch.rand((len(real),) + (1,) * (real.dim() - 1), device=real.device)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat, y).adv.sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def d_loss(self, G, D, real, y_real, z, y_fake):
        with torch.no_grad():
            fake = G(z, y_fake)
        out_real, out_fake = D(real, y_real), D(fake, y_fake)
        gp = self.gradient_penalty(D, real, fake, y_real)
        loss = out_fake.adv.mean() - out_real.adv.mean() + self.gp_lambda * gp
        stats = {"d_real": _stat(out_real.adv.mean()), "d_fake": _stat(out_fake.adv.mean()), "d_gp": _stat(gp)}
        return self._d_ac(loss, out_real, y_real, out_fake, y_fake, stats), stats

    def g_loss(self, G, D, z, y_fake):
        out = D(G(z, y_fake), y_fake)
        stats: Stats = {}
        return self._g_ac(-out.adv.mean(), out, y_fake, stats), stats


# Each builder takes the run spec and whether an 'ac' D's classifier also learns on fakes (the method decides).
LOSSES: dict[str, Callable[[dict, bool], GANLoss]] = {
    "nonsaturating": lambda spec, fakes: NonSaturatingLoss(spec["ac_weight_d"], spec["ac_weight_g"], fakes),
    "wgan_gp": lambda spec, fakes: WGANGPLoss(spec["gp_lambda"], spec["ac_weight_d"], spec["ac_weight_g"], fakes),
}


def make_loss(name: str, spec: dict, classifies_fakes: bool = False) -> GANLoss:
    """Build the loss registered under ``name`` from a run spec (methods call this through Method.make_loss)."""
    if name not in LOSSES:
        raise ValueError(f"loss {name!r} is not available; registered: {sorted(LOSSES)}")
    return LOSSES[name](spec, classifies_fakes)
