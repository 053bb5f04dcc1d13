"""`relabelgan extract`: the discriminator's last-hidden-layer features of every training sample."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .artifacts import provenance, write_features
from .checkpoint import load_checkpoint, load_networks
from .datasets import load_dataset
from .device import pick_device
from .networks import Discriminator


@torch.no_grad()
def feature_blocks(D: Discriminator, x: torch.Tensor, batch: int, device: torch.device) -> Iterator[np.ndarray]:
    """Yield D's features of ``x`` batch by batch, so memory stays flat as N grows."""
    D.eval()
    for i in range(0, len(x), batch):
        yield D.features(x[i : i + batch].to(device, non_blocking=True)).float().cpu().numpy()


def extract_features(spec: dict, rnd: int, model: str, out: str) -> None:
    """Write ``out`` (features.h5) with the features of every training sample under ``model``."""
    device = pick_device(spec)
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    state = load_checkpoint(model)
    _, D = load_networks(state, device)
    dim = int(D.features(data.x[:1].to(device)).shape[1])
    write_features(
        out,
        feature_blocks(D, data.x, spec["extract_batch"], device),
        n=len(data),
        dim=dim,
        sample_index=np.arange(len(data)),
        attrs={"round": rnd, "layer": "last_hidden", "model": provenance(model), "run": spec["name"], "seed": spec["seed"]},
    )
