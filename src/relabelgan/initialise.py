"""`relabelgan init`: round 0's model, the freshly initialised networks every run starts from."""

from __future__ import annotations

import torch

from . import __version__
from .data import load_run_dataset
from .methods import get_method
from .networks import build_networks, network_arch, real_data_statistics
from .training.checkpoint import save_checkpoint
from .training.device import derive_seed, pick_device
from .training.losses import OwnsNetworks


def init_model(spec: dict, out: str) -> None:
    """Build and save round 0's (G, D), seeded from the run's seed."""
    method = get_method(spec["method"])
    data = load_run_dataset(spec)
    torch.manual_seed(derive_seed(spec["seed"], "init"))
    k = method.n_classes(spec, data.n_classes)
    arch = network_arch(
        spec,
        tuple(data.x.shape[1:]),
        k,
        method.conditioning,
        class_tree=method.class_tree(k),
        gradient_penalty=method.gradient_penalty,
    )
    G, D = build_networks(arch)
    device = pick_device(spec)
    real_data_statistics(D.to(device), data.x, spec["extract_batch"], device)
    D.cpu()
    # An objective that trains networks of its own (slcgan's C) initialises them here, on their own seed.
    loss = method.make_loss(spec)
    extra = (
        {"extra": loss.init_extra(arch, derive_seed(spec["seed"], "init", "extra"))}
        if isinstance(loss, OwnsNetworks)
        else {}
    )
    save_checkpoint(
        out,
        {
            "arch": arch,
            "G": G.state_dict(),
            "D": D.state_dict(),
            "opt_G": None,
            "opt_D": None,
            "iteration": 0,
            "round": 0,
            "method_state": {},
            "provenance": {"spec": spec, "relabelgan": __version__, "torch": str(torch.__version__)},
            **extra,
        },
    )
