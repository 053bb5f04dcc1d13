"""`relabelgan init`: round 0's model, the freshly initialised networks every run starts from (and,
from the networks it holds, round 0's features and metrics)."""

from __future__ import annotations

import torch
from torch import nn

from . import __version__
from .core.seeding import derive_seed
from .data import load_run_dataset
from .data.base import Dataset
from .methods import get_method
from .networks import build_networks, network_arch, real_data_statistics
from .training.checkpoint import save_checkpoint
from .training.device import pick_device
from .training.round_outputs import RoundOutputs, write_round_outputs


def init_model(spec: dict, out: str) -> tuple[dict, dict[str, nn.Module], Dataset]:
    """Build and save round 0's networks (G, D and the method's own), seeded from the run's seed;
    returns the checkpoint, the networks and the dataset."""
    method = get_method(spec["method"])
    data = load_run_dataset(spec)
    torch.manual_seed(derive_seed(spec["seed"], "init"))
    k = method.n_classes(spec, data.n_classes)
    arch = network_arch(
        spec,
        tuple(data.x.shape[1:]),
        k,
        method.d_conditioning(spec),
        class_tree=method.class_tree(k),
        gradient_penalty=method.gradient_penalty,
    )
    G, D = build_networks(arch)
    device = pick_device(spec)
    real_data_statistics(D.to(device), data.x, spec["extract_batch"], device)
    networks: dict[str, nn.Module] = {"G": G, "D": D.cpu()}
    extra_arch = method.extra_networks(spec, arch)  # e.g. slcgan's C, on its own seed
    if extra_arch:
        torch.manual_seed(derive_seed(spec["seed"], "init", "extra"))
        networks.update({name: method.build_extra_network(name, record) for name, record in extra_arch.items()})
    state = {
        "arch": arch,
        "networks": {name: net.state_dict() for name, net in networks.items()},
        "optimizers": {},
        "iteration": 0,
        "round": 0,
        "method_state": {},
        "provenance": {"spec": spec, "relabelgan": __version__, "torch": str(torch.__version__)},
        **({"extra_arch": extra_arch} if extra_arch else {}),
    }
    save_checkpoint(out, state)
    return state, networks, data


def init_round(spec: dict, out: str, outputs: RoundOutputs | None) -> None:
    """Round 0's model and, with ``outputs``, its features.h5 and metrics.csv."""
    state, networks, data = init_model(spec, out)
    if outputs:
        write_round_outputs(spec, 0, state, out, None, outputs, data, networks)
