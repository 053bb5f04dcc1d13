"""`relabelgan extract`: remake a round's features.h5 from any model.pt (the phase writes it itself;
training/features.py says what the file holds)."""

from __future__ import annotations

from .data import load_run_dataset
from .methods import get_method
from .training.checkpoint import load_all_networks, load_checkpoint
from .training.device import pick_device
from .training.features import extract_features


def extract_round(spec: dict, rnd: int, model: str, out: str) -> None:
    """Write ``out`` (features.h5) with the features of every training sample under ``model``."""
    state = load_checkpoint(model)
    networks = load_all_networks(state, get_method(spec["method"]), pick_device(spec))
    extract_features(spec, rnd, networks, model, out, load_run_dataset(spec))
