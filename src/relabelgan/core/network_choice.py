"""What ``auto`` stands for in a run's network keys (``arch``, ``d_norm``).

Without torch, so the config checks can use it before any network exists.
"""

from __future__ import annotations

BATCHNORM_DS = ("dcgan", "dcgan_shallow")  # the architectures whose D can hold BatchNorm (d_norm: batch)


def resolve_arch(arch: str, images: bool) -> str:
    """The network architecture ``auto`` stands for: the MLP on 2D points, the DCGAN on images."""
    if arch != "auto":
        return arch
    return "dcgan" if images else "mlp"


def resolve_d_norm(d_norm: str, arch: str, gradient_penalty: bool) -> str:
    """D's normalisation ``auto`` stands for: BatchNorm in a DCGAN D, none in a WGAN-GP critic or elsewhere."""
    if d_norm != "auto":
        return d_norm
    return "batch" if arch in BATCHNORM_DS and not gradient_penalty else "none"
