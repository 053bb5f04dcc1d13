"""The clustering network C of the self-labeled conditional GAN (method ``slcgan``).

``C(x)`` returns k cluster logits (softmax gives p(y|x)); ``C.features(x)`` is the layer
before the last, the space a round's features.h5 holds. The body reuses the
discriminator bodies of the same data kind (PacGAN's maxout MLP for 2D points, the
DCGAN conv stack for images), so C is a critic-sized network of its own, not a copy of
D's weights. Like the networks of G and D, C is rebuilt from a plain architecture
record saved in the checkpoint.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...networks.dcgan import dcgan_discriminator_body
from ...networks.mlp import mlp_discriminator_body


class Clusterer(nn.Module):
    """``C(x) -> (B, k)`` cluster logits over a penultimate feature layer of ``feature_dim`` units.

    ``norm = 'batch'`` puts a BatchNorm1d in the penultimate layer (the paper's ResNet-18 has
    BatchNorm). Without it the body's features share a large input-independent part, C gives
    every digit the same argmax, and eq. 5 collapses it to one cluster (docs/slcgan.md, "Why C
    collapsed"). Exported labels use eval mode (running statistics), so they do not depend on
    the batch a sample is in.
    """

    def __init__(self, body: nn.Module, body_dim: int, feature_dim: int, n_classes: int, norm: str = "none") -> None:
        super().__init__()
        self.body = body
        if norm not in ("none", "batch"):
            raise ValueError(f"clusterer norm {norm!r} is not available; choose 'none' or 'batch'")
        batchnorm = [nn.BatchNorm1d(feature_dim)] if norm == "batch" else []
        self.penultimate = nn.Sequential(nn.Linear(body_dim, feature_dim), *batchnorm, nn.LeakyReLU(0.1))
        self.head = nn.Linear(feature_dim, n_classes)
        self.n_classes = n_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features, (B, feature_dim)."""
        return self.penultimate(self.body(x).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def clusterer_arch(
    data_shape: tuple[int, ...] | list[int], n_classes: int, width: int, feature_dim: int, norm: str
) -> dict[str, Any]:
    """The architecture record of C: 'mlp' for points (data_shape of length 1), 'conv' for images."""
    return {
        "kind": "mlp" if len(data_shape) == 1 else "conv",
        "data_shape": [int(s) for s in data_shape],
        "width": int(width),
        "feature_dim": int(feature_dim),
        "n_classes": int(n_classes),
        "norm": str(norm),
    }


def build_clusterer(arch: dict) -> Clusterer:
    """A freshly initialised C for an architecture record from :func:`clusterer_arch`."""
    shape = arch["data_shape"]
    if arch["kind"] == "mlp":
        body, body_dim = mlp_discriminator_body(shape[0]), 200
    elif arch["kind"] == "conv":
        body, body_dim = dcgan_discriminator_body(shape[0], shape[1], arch["width"])
    else:
        raise ValueError(f"clusterer kind {arch['kind']!r} is not available; choose 'mlp' or 'conv'")
    # Records written before 'norm' existed describe a C without normalisation.
    return Clusterer(body, body_dim, arch["feature_dim"], arch["n_classes"], arch.get("norm", "none"))
