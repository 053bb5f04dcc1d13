"""Where tensors live and how the run's seed reaches every random choice."""

from __future__ import annotations

import hashlib

import torch


def pick_device(spec: dict) -> torch.device:
    """'auto' is CUDA when available, else CPU; asking for CUDA without one is an error."""
    want = spec.get("device", "auto")
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"run {spec.get('name')}: device 'cuda' requested but no CUDA device is available")
    if want == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 63-bit seed for one purpose (e.g. ``derive_seed(seed, 'train', 3)``)."""
    text = ":".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1
