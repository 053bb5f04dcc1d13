"""model.pt: networks and optimisers by name, counters, RNG state and provenance in plain tensors and dicts.

Checkpoints hold no pickled objects, so they load with ``torch.load(weights_only=True)``. Layout
(docs/artifacts.md): ``arch`` (G's and D's architecture record), ``networks`` and ``optimizers``
(state dicts by network name: G, D and a method's own, e.g. slcgan's C), ``extra_arch`` (the records of
a method's own networks), ``iteration``, ``round``, ``rng``, ``method_state``, ``provenance``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..core.artifacts import ArtifactError, atomic_path

if TYPE_CHECKING:
    from torch import nn

    from ..methods import Method

MODEL_FORMAT = "relabelgan-model/2"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temp file + rename), byte for byte the same for the same state."""
    state = {"format": MODEL_FORMAT, **state}
    # Saved through a file object: given a path, torch names the archive's records after the (random)
    # temporary file, so equal states would give files of different sha256.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``; a damaged file gets an error naming it."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: checkpoint not found; build it with the workflow (snakemake {path}).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated zip archives
        raise ArtifactError(
            f"{path}: cannot load checkpoint ({type(e).__name__}: {e}); it is truncated or not a relabelgan "
            "model. Delete it and rerun the rule that makes it."
        ) from e
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        found = state.get("format") if isinstance(state, dict) else None
        raise ArtifactError(
            f"{path}: not a {MODEL_FORMAT} checkpoint (format {found!r}); "
            "remake it with this version (snakemake --forcerun on the run's round_00/model.pt)"
        )
    bad = non_finite_weights(state.get("networks", {}))
    if bad:
        raise ArtifactError(
            f"{path}: weights {bad} are not finite (NaN or inf): the phase that wrote it diverged. "
            "Delete it and rerun that phase with lower learning rates (lr_d, lr_g)."
        )
    return state


def non_finite_weights(networks: dict[str, dict[str, torch.Tensor]]) -> str | None:
    """The first floating-point tensor of ``networks`` (state dicts by name) holding NaN or inf, as
    'NETWORK.PARAMETER', or None when every weight and buffer is finite."""
    for name, state_dict in networks.items():
        for key, tensor in state_dict.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                return f"{name}.{key}"
    return None


def load_networks(state: dict[str, Any], device: torch.device | str = "cpu"):
    """Rebuild (G, D) from a checkpoint's architecture record and load their weights."""
    from ..networks import build_networks

    G, D = build_networks(state["arch"])
    G.load_state_dict(state["networks"]["G"])
    D.load_state_dict(state["networks"]["D"])
    return G.to(device), D.to(device)


def load_all_networks(
    state: dict[str, Any], method: Method, device: torch.device | str = "cpu"
) -> dict[str, nn.Module]:
    """Every network of a checkpoint by name: G, D and the method's own (built by the method)."""
    G, D = load_networks(state, device)
    networks: dict[str, nn.Module] = {"G": G, "D": D}
    for name, record in state.get("extra_arch", {}).items():
        net = method.build_extra_network(name, record)
        net.load_state_dict(state["networks"][name])
        networks[name] = net.to(device)
    return networks
