"""A round's features.h5: the feature network's features of every training sample (D's last hidden
layer; slcgan: C's penultimate layer with argmax C(x) beside them, column ``assigned``) and the
dataset's ground truth where it has one (column ``truth``). With both, the relabel step needs neither
torch nor the dataset. The phase writes it from the networks it holds; ``relabelgan extract`` from any model.pt.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.artifacts import provenance, write_features
from ..core.progress import track_rows
from ..data.base import Dataset
from ..methods import get_method
from .accel import AccelPlan, accel_plan, autocast, prepare_modules, to_layout
from .device import pick_device


@torch.no_grad()
def feature_blocks(
    net: Any, x: torch.Tensor, batch: int, device: torch.device, plan: AccelPlan | None = None
) -> Iterator[np.ndarray]:
    """Yield the network's float32 features of ``x`` batch by batch, so memory stays flat as N grows.

    With a ``plan`` (see :mod:`relabelgan.training.accel`), forward passes run under its autocast and
    memory format; the network should already be prepared with :func:`prepare_modules`.
    """
    plan = plan or accel_plan("cpu", tuple(x.shape[1:]), len(x))
    net.eval()
    for i in range(0, len(x), batch):
        with autocast(plan):
            h = net.features(to_layout(x[i : i + batch].to(device, non_blocking=True), plan))
        yield h.float().cpu().numpy()


def extract_features(spec: dict, rnd: int, networks: dict[str, nn.Module], model: str, out: str, data: Dataset) -> None:
    """Write ``out`` (features.h5) with the features of every training sample under ``networks``, the
    networks of the model at ``model`` (named in the file's provenance)."""
    device = pick_device(spec)
    attrs = {"round": rnd, "model": provenance(model), "run": spec["name"], "seed": spec["seed"]}
    columns = {}
    if data.y is not None:
        columns["truth"], attrs["truth_classes"] = data.y.numpy(), int(data.n_classes)
    method = get_method(spec["method"])
    feature_net, attrs["layer"] = method.feature_network(networks)  # D's last hidden layer; slcgan: C's
    net: Any = feature_net.to(device)  # a module with features(x)
    # slcgan: argmax C(x); a method may read its other networks (the networks of the same model) too.
    method_columns, method_attrs = method.feature_columns(net, data.x, spec, device, networks)
    columns.update(method_columns)
    attrs.update(method_attrs)
    plan = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=spec["precision"])
    prepare_modules(plan, net)
    # The width comes from the first block, computed in eval mode like every other: a probe forward in
    # train mode would move BatchNorm's running statistics before the features are read.
    blocks = feature_blocks(net, data.x, spec["extract_batch"], device, plan)
    first = next(blocks)
    write_features(
        out,
        track_rows(
            itertools.chain([first], blocks),
            f"extract round {rnd}",
            len(data),
            spec["progress_every"],
            unit="samples",
        ),
        n=len(data),
        dim=int(first.shape[1]),
        sample_index=np.arange(len(data)),
        attrs=attrs,
        columns=columns,
    )
