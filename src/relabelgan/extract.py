"""`relabelgan extract`: the discriminator's last-hidden-layer features of every training sample.

For ``slcgan`` they are the clustering network C's penultimate-layer features instead, with its
labels argmax C(x) beside them (column ``assigned``). The dataset's ground truth, where it has
one, is stored too (column ``truth``): with both, the relabel step needs neither torch nor the
dataset. The workflow calls :func:`extract_features` at the end of each phase (train.py, init.py),
while the model is at hand; the command re-extracts from any model.pt.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .core.artifacts import provenance, write_features
from .core.progress import track_rows
from .data import load_run_dataset
from .data.base import Dataset
from .methods import get_method
from .networks import Discriminator
from .training.accel import AccelPlan, accel_plan, autocast, prepare_modules, to_layout
from .training.checkpoint import load_checkpoint
from .training.device import pick_device


@torch.no_grad()
def feature_blocks(
    D: Discriminator, x: torch.Tensor, batch: int, device: torch.device, plan: AccelPlan | None = None
) -> Iterator[np.ndarray]:
    """Yield D's float32 features of ``x`` batch by batch, so memory stays flat as N grows.

    With a ``plan`` (see :mod:`relabelgan.training.accel`), forward passes run under its autocast and
    memory format; D should already be prepared with :func:`prepare_modules`.
    """
    plan = plan or accel_plan("cpu", tuple(x.shape[1:]), len(x))
    D.eval()
    for i in range(0, len(x), batch):
        with autocast(plan):
            h = D.features(to_layout(x[i : i + batch].to(device, non_blocking=True), plan))
        yield h.float().cpu().numpy()


def extract_features(spec: dict, rnd: int, model: str, out: str, data: Dataset | None = None) -> None:
    """Write ``out`` (features.h5) with the features of every training sample under ``model``
    (``data``: the run's dataset when the caller has it loaded already)."""
    device = pick_device(spec)
    data = data if data is not None else load_run_dataset(spec)
    state = load_checkpoint(model)
    attrs = {"round": rnd, "model": provenance(model), "run": spec["name"], "seed": spec["seed"]}
    columns = {}
    if data.y is not None:
        columns["truth"], attrs["truth_classes"] = data.y.numpy(), int(data.n_classes)
    method = get_method(spec["method"])
    net, attrs["layer"] = method.feature_network(state, device, model)  # D's last hidden layer; slcgan: C's
    method_columns, method_attrs = method.feature_columns(net, data.x, spec, device)  # slcgan: argmax C(x)
    columns.update(method_columns)
    attrs.update(method_attrs)
    plan = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=spec["precision"])
    prepare_modules(plan, net)
    dim = int(net.features(to_layout(data.x[:1].to(device), plan)).shape[1])
    write_features(
        out,
        track_rows(
            feature_blocks(net, data.x, spec["extract_batch"], device, plan),
            f"extract round {rnd}",
            len(data),
            spec["progress_every"],
            unit="samples",
        ),
        n=len(data),
        dim=dim,
        sample_index=np.arange(len(data)),
        attrs=attrs,
        columns=columns,
    )
