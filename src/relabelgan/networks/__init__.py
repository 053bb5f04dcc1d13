"""Networks by name: :func:`build_networks` turns an architecture record into (G, D).

The architecture record is a plain dict saved in every checkpoint, so a model.pt can be
rebuilt without the config that made it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ..core.network_choice import resolve_arch, resolve_d_norm
from .class_tree import ClassTree, TreeGenerator
from .conditional import Discriminator, DOutput, Generator
from .dcgan import (
    DCGANGeneratorBody,
    ShallowDCGANGeneratorBody,
    dcgan_discriminator_body,
    shallow_dcgan_discriminator_body,
)
from .mlp import mlp_discriminator_body, mlp_generator_body
from .resnet import WIDTHS as RESNET_WIDTHS
from .resnet import ResNetCriticBody, ResNetGeneratorBody

__all__ = [
    "DOutput",
    "Discriminator",
    "Generator",
    "build_networks",
    "real_data_statistics",
    "network_arch",
    "ARCHITECTURES",
]


def _g_in(arch: dict) -> int:
    # A class-tree generator conditions through its BatchNorms, so its body sees z alone.
    embeds = arch["n_classes"] > 1 and "class_tree" not in arch
    return arch["z_dim"] + (arch["embed_dim"] if embeds else 0)


def _mlp(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    return mlp_generator_body(_g_in(arch), arch["data_shape"][0]), mlp_discriminator_body(arch["data_shape"][0]), 200


def _dcgan(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    c, res, _ = arch["data_shape"]
    # Absent in checkpoints made before the key: those D had no BatchNorm.
    d_body, feat = dcgan_discriminator_body(c, res, arch["width"], batchnorm=arch.get("d_norm", "none") == "batch")
    return DCGANGeneratorBody(_g_in(arch), c, res, arch["width"]), d_body, feat


def _dcgan_shallow(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    c, res, _ = arch["data_shape"]
    d_body, feat = shallow_dcgan_discriminator_body(c, res, arch["width"], batchnorm=arch["d_norm"] == "batch")
    return ShallowDCGANGeneratorBody(_g_in(arch), c, res, arch["width"]), d_body, feat


def _resnet(arch: dict) -> tuple[nn.Module, nn.Module, int]:
    c, res, _ = arch["data_shape"]
    width = arch["width"]
    return ResNetGeneratorBody(_g_in(arch), c, res, width), ResNetCriticBody(c, res, width), width


ARCHITECTURES = {
    "mlp": _mlp,
    "dcgan": _dcgan,
    "dcgan_shallow": _dcgan_shallow,
    "resnet_a": _resnet,
    "resnet_b": _resnet,
    "resnet_small": _resnet,
}


def network_arch(
    spec: dict,
    data_shape: tuple[int, ...],
    n_classes: int,
    conditioning: str,
    class_tree: dict | None = None,
    gradient_penalty: bool = False,
) -> dict[str, Any]:
    """The architecture record for a run: what :func:`build_networks` needs, nothing more.

    With ``class_tree`` (a ClassTree record), G conditions through class-tree BatchNorm
    instead of an embedding (method ``splitting``). ``gradient_penalty``: D is a WGAN-GP critic.
    """
    arch = resolve_arch(spec["arch"], images=len(data_shape) > 1)
    record = {
        "kind": arch,
        "data_shape": list(data_shape),
        "z_dim": int(spec["z_dim"]),
        "embed_dim": int(spec["embed_dim"]),
        "embed_norm": bool(spec["embed_norm"]),
        "width": RESNET_WIDTHS.get(arch, int(spec["width"])),
        "n_classes": int(n_classes),
        "conditioning": conditioning,
        "d_norm": resolve_d_norm(spec["d_norm"], arch, gradient_penalty),
    }
    if class_tree is not None:
        record["class_tree"] = class_tree
    return record


def build_networks(arch: dict) -> tuple[Generator, Discriminator]:
    """Build freshly initialised (G, D) for an architecture record."""
    if arch["kind"] not in ARCHITECTURES:
        raise ValueError(f"architecture {arch['kind']!r} is not available; choose from {sorted(ARCHITECTURES)}")
    g_body, d_body, feat = ARCHITECTURES[arch["kind"]](arch)
    # Unconditional runs and 'ac'/'projection' D still see the class count; G embeds only when k > 1.
    g_classes = 1 if arch["conditioning"] == "none" else arch["n_classes"]
    if "class_tree" in arch:
        G: Generator = TreeGenerator(g_body, ClassTree.from_record(arch["class_tree"]))
    else:
        G = Generator(g_body, g_classes, arch["embed_dim"], arch.get("embed_norm", False))  # absent: older checkpoints
    D = Discriminator(d_body, feat, arch["n_classes"], arch["conditioning"])
    return G, D


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Build a graph through ``module`` without recording gradients for its parameters.

    Gradients still flow through it to its input: to G through D in the G step, from C to G in slcgan's MI loss.
    """
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags, strict=False):
            p.requires_grad_(flag)


@torch.no_grad()
def real_data_statistics(D: Discriminator, x: torch.Tensor, batch: int, device: torch.device | str) -> None:
    """Set the running statistics of D's BatchNorms to those of the real data ``x`` (d_norm: batch).

    Training updates them with real and fake batches in turn, so in eval mode the features of real
    samples (what relabelling clusters, what ``assign`` matches) would be normalised by statistics
    that mix in G's samples and drift as D and G fight. A no-op for a D without BatchNorm.
    """
    norms = [m for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training, momenta = D.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches below
    D.train()
    for i in range(0, len(x), batch):
        D.features(x[i : i + batch].to(device))
    for m, momentum in zip(norms, momenta, strict=False):
        m.momentum = momentum
    D.train(was_training)
