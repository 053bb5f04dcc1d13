"""Networks by name: :func:`build_networks` turns an architecture record into (G, D).

The architecture record is a plain dict saved in every checkpoint, so a model.pt can be
rebuilt without the config that made it.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .conditional import DOutput, Discriminator, Generator
from .dcgan import DCGANGeneratorBody, dcgan_discriminator_body
from .mlp import mlp_discriminator_body, mlp_generator_body

__all__ = ["DOutput", "Discriminator", "Generator", "build_networks", "network_arch", "ARCHITECTURES"]


def _mlp(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    g_in = arch["z_dim"] + (arch["embed_dim"] if arch["n_classes"] > 1 else 0)
    return mlp_generator_body(g_in, arch["data_shape"][0]), mlp_discriminator_body(arch["data_shape"][0]), 200


def _dcgan(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    c, res, _ = arch["data_shape"]
    g_in = arch["z_dim"] + (arch["embed_dim"] if arch["n_classes"] > 1 else 0)
    d_body, feat = dcgan_discriminator_body(c, res, arch["width"])
    return DCGANGeneratorBody(g_in, c, res, arch["width"]), d_body, feat


ARCHITECTURES = {"mlp": _mlp, "dcgan": _dcgan}


def network_arch(spec: dict, data_shape: tuple[int, ...], n_classes: int, conditioning: str) -> dict[str, Any]:
    """The architecture record for a run: what :func:`build_networks` needs, nothing more."""
    arch = spec.get("arch", "auto")
    if arch == "auto":
        arch = "mlp" if len(data_shape) == 1 else "dcgan"
    return {
        "kind": arch,
        "data_shape": list(data_shape),
        "z_dim": int(spec["z_dim"]),
        "embed_dim": int(spec["embed_dim"]),
        "width": int(spec.get("width", 64)),
        "n_classes": int(n_classes),
        "conditioning": conditioning,
    }


def build_networks(arch: dict) -> tuple[Generator, Discriminator]:
    """Build freshly initialised (G, D) for an architecture record."""
    if arch["kind"] not in ARCHITECTURES:
        raise ValueError(f"architecture {arch['kind']!r} is not available; choose from {sorted(ARCHITECTURES)}")
    g_body, d_body, feat = ARCHITECTURES[arch["kind"]](arch)
    # Unconditional runs and 'ac'/'projection' D still see the class count; G embeds only when k > 1.
    g_classes = 1 if arch["conditioning"] == "none" else arch["n_classes"]
    G = Generator(g_body, g_classes, arch["embed_dim"])
    D = Discriminator(d_body, feat, arch["n_classes"], arch["conditioning"])
    return G, D
