"""model.pt: networks, optimizers, counters, RNG state and provenance in plain tensors and dicts.

Checkpoints hold no pickled objects, so they load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..core.artifacts import ArtifactError, atomic_path

MODEL_FORMAT = "relabelgan-model/1"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temp file + rename)."""
    state = {"format": MODEL_FORMAT, **state}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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
        raise ArtifactError(f"{path}: not a {MODEL_FORMAT} checkpoint")
    return state


def load_networks(state: dict[str, Any], device: torch.device | str = "cpu"):
    """Rebuild (G, D) from a checkpoint's architecture record and load their weights."""
    from ..networks import build_networks

    G, D = build_networks(state["arch"])
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    return G.to(device), D.to(device)
