"""Self-labeled conditional GAN (Noroozi; method ``slcgan``): the objective and its clustering network.

A clustering network C labels real images; G and C play together against a projection
discriminator D (paper eq. 3, Algorithm 1):

- D (``d_loss``, run ``d_steps`` times per G step): hinge loss on a unary score ``u`` (image
  only) and a joint score ``s`` (image and label), for real pairs (x, softmax C(x)) and
  fake pairs (G(z, c), onehot(c)), c drawn uniformly (p_c uniform).
- G (``g_loss``): -u_f - s_f, plus the mutual-information loss (eq. 4): cross-entropy of
  C's logits on G(z, c) against c. C is frozen while this loss is built, so it gets no
  gradient from it (the paper trains eq. 4 for G only).
- C (``c_loss``, the update after G's): the joint score of real pairs, s_r (C moves its
  labels so that D takes real pairs for fake), plus the multiple-view loss (eq. 5):
  -sum_c q_c log p_c with p = softmax C(x), q = softmax C(T(x)), T a random augmentation,
  plus (not in the paper, off by default) KL(p_mean || uniform) of C's batch-average
  prediction, studied against C's collapse to one cluster (docs/slcgan.md, "Why C collapsed").

The terms are weighted by ``slcgan.adv_weight``, ``mi_weight``, ``aug_weight`` (lambda_1..3
of eq. 6) and ``balance_weight``. C is the checkpoint's network ``C`` (architecture in ``extra_arch``);
at the end of a phase the workflow exports argmax C(x) as labels.h5 and C's penultimate
features as features.h5 (see :func:`load_clusterer`, :func:`cluster_labels`).
docs/slcgan.md describes the choices made where the paper is silent.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...core.artifacts import ArtifactError
from ...networks import Discriminator, frozen
from ...training.losses import Stats
from ...training.sampling import Batch
from .clusterer import Clusterer, build_clusterer

# ----------------------------------------------------------------------------- scores and loss terms


def unary_and_joint(D: Discriminator, x: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, s) of a projection discriminator for images ``x`` and label distributions ``p`` (B, k).

    ``u = w·h + b`` depends on the image only; ``s = u + (p E)·h`` is the projection
    discriminator's logit for the pair, where ``p E`` is the label embedding averaged under
    ``p`` (for a one-hot ``p`` it equals ``D(x, y).adv``).
    """
    if D.proj is None:
        raise ValueError(f"slcgan needs a projection discriminator; this one has conditioning {D.conditioning!r}")
    h = D.features(x)
    u = D.adv(h).squeeze(1)
    s = u + ((p @ D.proj.weight) * h).sum(1)
    return u, s


def hinge_terms(u_r: torch.Tensor, s_r: torch.Tensor, u_f: torch.Tensor, s_f: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four hinge terms of D's loss (Algorithm 1, lines 14-15), each a batch mean."""
    return {
        "u_real": F.relu(1 - u_r).mean(),
        "s_real": F.relu(1 - s_r).mean(),
        "u_fake": F.relu(1 + u_f).mean(),
        "s_fake": F.relu(1 + s_f).mean(),
    }


def mutual_information_loss(logits_fake: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Eq. 4: E[-log p(y = c | G(z, c))] from C's raw logits on the fakes (no softmax first)."""
    return F.cross_entropy(logits_fake, c)


def balance_loss(logits: torch.Tensor) -> torch.Tensor:
    """KL(p_mean || uniform) = log k - H(p_mean) of C's batch-average prediction p_mean = mean_i softmax C(x_i).

    Zero when the batch is spread evenly over the k clusters, log k when every sample goes to
    one cluster. Not in the paper, which relies on the adversarial term alone to make C match
    the uniform p_c; on digits that fails (docs/slcgan.md, "Why C collapsed"). With eq. 5 it
    gives C IMSAT's loss (the paper's ref. [19]): view consistency plus marginal entropy H(p_mean).
    """
    p_mean = logits.softmax(1).mean(0)
    log_uniform = torch.full_like(p_mean, -math.log(p_mean.numel()))
    return F.kl_div(log_uniform, p_mean, reduction="sum")


def consistency_loss(logits: torch.Tensor, logits_aug: torch.Tensor) -> torch.Tensor:
    """Eq. 5: E[-sum_c q_c log p_c], p = softmax(C(x)), q = softmax(C(T(x))).

    A cross-entropy, so for identical views it equals the entropy of p (zero only for a
    one-hot p); as in Algorithm 1 (line 28) the gradient reaches both views.
    """
    return -(logits_aug.softmax(1) * logits.log_softmax(1)).sum(1).mean()


# ----------------------------------------------------------------------------- augmentation T


def augment(x: torch.Tensor, gen: torch.Generator, cfg: dict) -> torch.Tensor:
    """A random view T(x) of each sample, drawn from ``gen``.

    Points (B, 2): ``x + jitter_2d * N(0, I)``, a jitter small against the distance between
    modes, so a view stays in its sample's mode. Images (B, C, H, W) in [-1, 1]: horizontal
    flip with probability 1/2 (``flip``), a random crop of the image padded by ``crop_pad``
    pixels (edge replicated), and colour jitter of strength ``jitter`` (brightness, contrast
    and, for RGB, saturation factors uniform in [1 - jitter, 1 + jitter]). Parameters are drawn
    per sample; torchvision's batched transforms draw one set per batch, hence this function.
    """
    if x.dim() == 2:
        return x + cfg["jitter_2d"] * torch.randn(x.shape, generator=gen, device=x.device)
    b, c, h, w = x.shape
    if cfg["flip"]:
        flip = torch.rand(b, generator=gen, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    pad = int(cfg["crop_pad"])
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        oy, ox = torch.randint(0, 2 * pad + 1, (2, b), generator=gen, device=x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device))[:, :, None]
        cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, :]
        x = padded[torch.arange(b, device=x.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
    j = float(cfg["jitter"])
    if j > 0:
        img = (x + 1) / 2  # the factors act on [0, 1] intensities, as torchvision's ColorJitter does
        factors = 1 + j * (2 * torch.rand(3, b, 1, 1, 1, generator=gen, device=x.device) - 1)
        img = (img * factors[0]).clamp(0, 1)
        mean = img.mean(dim=(1, 2, 3), keepdim=True)
        img = ((img - mean) * factors[1] + mean).clamp(0, 1)
        if c == 3:
            gray = 0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3]
            img = ((img - gray) * factors[2] + gray).clamp(0, 1)
        x = img * 2 - 1
    return x


# ----------------------------------------------------------------------------- the objective


class SlcGANLoss:
    """The slcGAN objective: D's and G's hinge losses and C's own (the updates named D, G and C).

    Fake classes are drawn uniformly (the method's sampling), and the labels the loop draws with real
    samples are not used: real pairs take C's current p(y|x).
    """

    def __init__(self, spec: dict) -> None:
        cfg = spec["slcgan"]
        self.adv_weight = float(cfg["adv_weight"])
        self.mi_weight = float(cfg["mi_weight"])
        self.aug_weight = float(cfg["aug_weight"])
        self.balance_weight = float(cfg["balance_weight"])
        self.augmentation = {key: cfg[key] for key in ("jitter_2d", "flip", "crop_pad", "jitter")}

    def loss(self, update: str, nets: dict, batch: Batch) -> tuple[torch.Tensor, Stats]:
        """The loss of update ``update`` (D, G or C) on ``batch``."""
        G, D, C = nets["G"], nets["D"], nets["C"]
        if update == "D":
            return self.d_loss(G, D, C, batch.real, batch.z, batch.y_fake)
        if update == "G":
            return self.g_loss(G, D, C, batch.z, batch.y_fake)
        if update == "C":
            assert batch.real is not None  # C's update draws a real batch
            return self.c_loss(D, C, batch.real, batch.gen)
        raise ValueError(f"slcgan has no update {update!r}; its updates are D, G and C")

    def c_loss(
        self, D: Discriminator, C: Clusterer, real: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, Stats]:
        """C's loss on a real batch (Algorithm 1, lines 22-28); D is frozen, so only C gets gradients."""
        logits = C(real)
        logits_aug = C(augment(real, gen, self.augmentation))
        with frozen(D):
            _, s_r = unary_and_joint(D, real, logits.softmax(1))
        adv = s_r.mean()
        aug = consistency_loss(logits, logits_aug)
        balance = balance_loss(logits)
        loss = self.adv_weight * adv + self.aug_weight * aug + self.balance_weight * balance
        # Stats stay tensors: the loop reads them only when it logs, saving a device sync per step.
        used = torch.bincount(logits.detach().argmax(1), minlength=C.n_classes).gt(0).sum()
        stats: Stats = {
            "c_adv": adv.detach(),
            "c_aug": aug.detach(),
            "c_balance": balance.detach(),
            "c_clusters_in_batch": used,
        }
        return loss, stats

    def d_loss(self, G, D, C, real, z, y_fake):
        with torch.no_grad():
            fake = G(z, y_fake)
            p_real = C(real).softmax(1)
        u_r, s_r = unary_and_joint(D, real, p_real)
        u_f, s_f = unary_and_joint(D, fake, F.one_hot(y_fake, D.n_classes).to(fake.dtype))
        terms = hinge_terms(u_r, s_r, u_f, s_f)
        loss = self.adv_weight * sum(terms.values())
        stats = {f"d_{name}": value.detach() for name, value in terms.items()}
        stats.update({"d_real": s_r.detach().mean(), "d_fake": s_f.detach().mean()})
        return loss, stats

    def g_loss(self, G, D, C, z, y_fake):
        fake = G(z, y_fake)
        u_f, s_f = unary_and_joint(D, fake, F.one_hot(y_fake, D.n_classes).to(fake.dtype))
        adv = -(u_f.mean() + s_f.mean())
        # Eval mode: a BatchNorm in C normalises fakes with the real data's running statistics
        # and is not updated by them (C is only updated through real images, section 3.2).
        C.eval()
        try:
            with frozen(C):
                mi = mutual_information_loss(C(fake), y_fake)
        finally:
            C.train()
        loss = self.adv_weight * adv + self.mi_weight * mi
        stats: Stats = {"g_adv": adv.detach(), "g_mi": mi.detach()}
        return loss, stats


# ----------------------------------------------------------------------------- export


def load_clusterer(state: dict, device: torch.device | str = "cpu", source: str = "checkpoint") -> Clusterer:
    """C from a checkpoint (its network ``C``), in eval mode, on ``device``."""
    if "C" not in state.get("networks", {}) or "C" not in state.get("extra_arch", {}):
        raise ArtifactError(
            f"{source}: has no clustering network C; it was not made for method 'slcgan'. "
            "Rerun `relabelgan init` (snakemake round_00/model.pt) for this run."
        )
    C = build_clusterer(state["extra_arch"]["C"])
    C.load_state_dict(state["networks"]["C"])
    return C.to(device).eval()


@torch.no_grad()
def cluster_labels(C: Clusterer, x: torch.Tensor, batch: int, device: torch.device | str) -> np.ndarray:
    """argmax_c C(x) for every row of ``x``, computed batch by batch."""
    C.eval()
    out = [C(x[i : i + batch].to(device)).argmax(1).cpu() for i in range(0, len(x), batch)]
    return torch.cat(out).numpy().astype(np.int64)
