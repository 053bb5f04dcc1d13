"""Where tensors live (CPU or CUDA). ``derive_seed`` lives in seeding.py (torch-free) and is re-exported here."""

from __future__ import annotations

import torch

from ..core.seeding import derive_seed

__all__ = ["derive_seed", "pick_device"]


def pick_device(spec: dict) -> torch.device:
    """'auto' is CUDA when available, else CPU; asking for CUDA without one is an error."""
    want = spec["device"]
    if want == "cuda" and not torch.cuda.is_available():
        from ..core.config import ConfigError

        raise ConfigError(
            f"run {spec['name']}: device is 'cuda' but no CUDA device is available; set device: auto or cpu"
        )
    if want == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")
