"""Where tensors live (CPU or CUDA). ``derive_seed`` lives in seeding.py (torch-free) and is re-exported here."""

from __future__ import annotations

import torch

from .seeding import derive_seed

__all__ = ["derive_seed", "pick_device"]


def pick_device(spec: dict) -> torch.device:
    """'auto' is CUDA when available, else CPU; asking for CUDA without one is an error."""
    want = spec.get("device", "auto")
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"run {spec.get('name')}: device 'cuda' requested but no CUDA device is available")
    if want == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")
