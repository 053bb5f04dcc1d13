"""Conditioning wrappers shared by every architecture.

A generator body maps a vector (z, optionally concatenated with a class embedding) to a
sample; a discriminator body maps a sample to its last-hidden-layer features. The
wrappers add conditioning by name, so losses and the training loop see one interface:
``G(z, y) -> x`` and ``D(x, y) -> DOutput``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

CONDITIONINGS = ("none", "heads", "ac", "projection")


class DOutput(NamedTuple):
    """What a discriminator returns for a batch."""

    features: torch.Tensor  # (B, F) last hidden layer, the space labels are clustered in
    adv: torch.Tensor  # (B,) real/fake logit (critic value for WGAN), for the given class
    cls: torch.Tensor | None  # (B, k) auxiliary-classifier logits, for 'ac'


class Generator(nn.Module):
    """``G(z, y)``: the class enters through an embedding concatenated with z (none when k = 1).

    ``embed_norm``: the embedding is scaled to unit length first, as the self-conditioned GAN's code
    does (stevliu/self-conditioned-gan, ``LatentEmbeddingConcat``). Unscaled, a d-dimensional N(0, 1)
    embedding has length about √d, so with a small z (2-d on the 2D mixtures) the class code
    outweighs z at the first layer.
    """

    def __init__(self, body: nn.Module, n_classes: int, embed_dim: int, embed_norm: bool = False) -> None:
        super().__init__()
        self.body = body
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes > 1 else None
        self.embed_norm = embed_norm

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ValueError("a conditional generator needs class labels y")
            e = self.embed(y)
            if self.embed_norm:
                e = e / e.norm(dim=1, keepdim=True)
            z = torch.cat([z, e], dim=1)
        return self.body(z)


class Discriminator(nn.Module):
    """A body plus conditioning heads.

    - ``none``: one real/fake logit.
    - ``heads``: k real/fake logits, the one of the sample's class is used (self-conditioned GAN).
    - ``ac``: one real/fake logit plus k class logits (AC-GAN, class-splitting GAN).
    - ``projection``: logit = w·h + embed(y)·h (projection discriminator, slcGAN).
    """

    def __init__(self, body: nn.Module, feature_dim: int, n_classes: int, conditioning: str) -> None:
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {conditioning!r}; choose from {CONDITIONINGS}")
        self.body = body
        self.n_classes = n_classes
        self.conditioning = conditioning
        n_adv = n_classes if conditioning == "heads" else 1
        self.adv = nn.Linear(feature_dim, n_adv)
        self.cls = nn.Linear(feature_dim, n_classes) if conditioning == "ac" else None
        self.proj = nn.Embedding(n_classes, feature_dim) if conditioning == "projection" else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last-hidden-layer features, flattened to (B, F)."""
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        h = self.features(x)
        logits = self.adv(h)
        if self.conditioning == "heads":
            if y is None:
                raise ValueError("a multi-head discriminator needs class labels y")
            adv = logits.gather(1, y[:, None]).squeeze(1)
        else:
            adv = logits.squeeze(1)
        if self.proj is not None and y is not None:
            adv = adv + (self.proj(y) * h).sum(1)
        cls = self.cls(h) if self.cls is not None else None
        return DOutput(h, adv, cls)
