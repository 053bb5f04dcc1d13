"""GAN objectives as objects the training loop calls, chosen by name.

The loop only knows ``d_loss`` and ``g_loss``; which GAN it trains is the loss's business.
Each returns (loss, stats) where stats are scalars (floats or detached tensors) for the training log.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from ..methods.slcgan.objective import SlcGANLoss
from ..networks import Discriminator, Generator

Stats = dict[str, float | torch.Tensor]


class GANLoss(Protocol):
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


@runtime_checkable
class OwnsNetworks(Protocol):
    """An objective that trains networks of its own beside G and D (slcgan's clustering network C).

    The loop stays method-agnostic: ``init`` saves ``init_extra(arch, seed)`` as the checkpoint's
    ``extra`` entry; a phase calls ``load_extra`` on it, after every generator step minimises
    ``extra_loss`` on a fresh real batch with ``extra_optimizers`` (whose learning rates decay
    with G's and D's), and saves ``extra_state()`` (plain state dicts) in every checkpoint.
    """

    def init_extra(self, arch: dict, seed: int) -> dict: ...

    def load_extra(self, extra: dict | None, device: torch.device | str, source: str) -> None: ...

    def extra_state(self) -> dict: ...

    def extra_optimizers(self) -> list[tuple[torch.optim.Optimizer, float]]: ...

    def extra_loss(
        self, G: Generator, D: Discriminator, real: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, Stats]: ...


def _stat(x: torch.Tensor) -> torch.Tensor:
    # Stats stay tensors until the loop logs them, so a GPU step does not wait on a host read.
    return x.detach()


class _AuxiliaryClassifier:
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
    "slcgan": lambda spec, fakes: SlcGANLoss(spec),  # slcgan.py: hinge loss, MI loss for G, and C it trains
}


def make_loss(name: str, spec: dict, classifies_fakes: bool = False) -> GANLoss:
    """Build the loss registered under ``name`` from a run spec (methods call this through Method.make_loss)."""
    if name not in LOSSES:
        raise ValueError(f"loss {name!r} is not available; registered: {sorted(LOSSES)}")
    return LOSSES[name](spec, classifies_fakes)
