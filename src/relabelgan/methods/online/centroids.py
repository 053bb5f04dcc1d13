"""The online k-means of method ``online``: the network K and the objective that moves it.

K holds k centroids in D's feature space and how many samples each has absorbed, as buffers (no
parameters, no optimiser), so checkpoints and resume snapshots carry it by name like G and D. The
objective wraps the method's GAN loss: before D's loss, every D step assigns its real batch to the
nearest centroid (features under no_grad), moves those centroids by MacQueen's update and writes the
new classes into the batch in place, so the paired fakes (the same tensor) and G's step follow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ...core.kmeans import assign
from ...networks import Discriminator
from ...training.accel import accel_plan, autocast, prepare_modules, to_layout
from ...training.losses import Objective, Stats
from ...training.sampling import Batch


class OnlineCentroids(nn.Module):
    """K: ``centroids`` (k, dim) float32, ``counts`` (k,) int64 of samples absorbed, ``started`` (set
    when the centroids were given: the start of phase 1). Built from the record {kind, k, dim, reset_counts}."""

    centroids: torch.Tensor
    counts: torch.Tensor
    started: torch.Tensor

    def __init__(self, k: int, dim: int) -> None:
        super().__init__()
        self.k, self.dim = int(k), int(dim)
        self.register_buffer("centroids", torch.zeros(self.k, self.dim))
        self.register_buffer("counts", torch.zeros(self.k, dtype=torch.int64))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    def nearest(self, f: torch.Tensor) -> torch.Tensor:
        """Index of the nearest centroid of every row of ``f`` (squared Euclidean distance)."""
        c = self.centroids
        return ((c * c).sum(1)[None, :] - 2.0 * f @ c.T).argmin(1)

    @torch.no_grad()
    def update(self, f: torch.Tensor) -> torch.Tensor:
        """One MacQueen step on a batch: assign every row of ``f`` to its nearest centroid, then for each
        row in turn count_c += 1, centroid_c += (f - centroid_c) / count_c. Done at once per centroid,
        which is the same running mean: centroid_c += (sum_c - n_c centroid_c) / (count_c + n_c), with
        n_c rows of sum sum_c (a centroid no row chose stays where it is). Returns the assignment."""
        f = f.to(self.centroids.dtype)
        y = self.nearest(f)
        n = torch.bincount(y, minlength=self.k)
        sums = torch.zeros_like(self.centroids).index_add_(0, y, f)
        self.counts += n
        self.centroids += (sums - n[:, None].to(f.dtype) * self.centroids) / self.counts.clamp(min=1)[:, None]
        return y


def build_centroids(record: dict[str, Any]) -> OnlineCentroids:
    if record.get("kind") != "online_centroids":
        raise ValueError(f"network K of record {record!r} is not online centroids")
    return OnlineCentroids(record["k"], record["dim"])


def feature_dim(arch: dict) -> int:
    """Width of D's last hidden layer (its features) for an architecture record, without touching torch's RNG."""
    from ...networks import build_networks

    with torch.random.fork_rng(devices=[]):
        return int(build_networks(arch)[1].adv.in_features)


def start_centroids(state: dict, centroids: np.ndarray, reset_counts: bool, source: str) -> None:
    """Set K in checkpoint ``state`` as a phase starts: the first phase puts its centroids at
    ``centroids`` (round 0's clusters) with counts 0; later phases keep K, counts zeroed with ``reset_counts``."""
    K = state["networks"]["K"]
    if not bool(K["started"]):
        if tuple(centroids.shape) != tuple(K["centroids"].shape):
            raise ValueError(
                f"{source}: centroids of shape {tuple(centroids.shape)}, but network K holds "
                f"{tuple(K['centroids'].shape)} (k, D's feature width)"
            )
        K["centroids"] = torch.from_numpy(np.array(centroids, dtype=np.float32))
        K["counts"] = torch.zeros_like(K["counts"])
        K["started"] = torch.ones((), dtype=torch.bool)
    elif reset_counts:
        K["counts"] = torch.zeros_like(K["counts"])


@contextlib.contextmanager
def buffers_kept(module: nn.Module) -> Iterator[None]:
    """Run ``module`` without leaving a trace in its buffers (BatchNorm's running statistics, spectral
    norm's power-iteration vectors), so the relabelling pass changes nothing D's own steps see."""
    saved = [(b, b.clone()) for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, copy in saved:
                b.copy_(copy)


def relabel_batch(D: Discriminator, K: OnlineCentroids, batch: Batch) -> Stats:
    """Assign the real batch to K's nearest centroids, move them, and write the classes into ``batch.y_real``."""
    if batch.real is None or batch.y_real is None:
        raise ValueError("online relabels the real batch of a D step; this update drew none")
    # D's mode as it trains (batch statistics under BatchNorm): the features its heads score this batch in.
    with torch.no_grad(), buffers_kept(D):
        f = D.features(batch.real)
    with torch.autocast(device_type=f.device.type, enabled=False):  # distances in float32, not bf16
        y = K.update(f.float())
    stats: Stats = {
        "online_relabelled": (y != batch.y_real).float().mean(),  # against the labels the phase started from
        "online_clusters_in_batch": torch.bincount(y, minlength=K.k).gt(0).sum(),
    }
    batch.y_real.copy_(y)  # in place: paired fakes share this tensor, and G's step reuses it
    return stats


class OnlineLoss:
    """The method's GAN objective, with every D step's real batch relabelled from K first (and K updated)."""

    def __init__(self, gan: Objective) -> None:
        self.gan = gan

    def loss(self, update: str, nets: dict[str, nn.Module], batch: Batch) -> tuple[torch.Tensor, Stats]:
        stats: Stats = {}
        if update == "D":
            stats = relabel_batch(cast(Discriminator, nets["D"]), cast(OnlineCentroids, nets["K"]), batch)
        loss, gan_stats = self.gan.loss(update, nets, batch)
        return loss, {**gan_stats, **stats}


@torch.no_grad()
def assigned_column(net: Any, K: OnlineCentroids, x: torch.Tensor, spec: dict, device: torch.device) -> np.ndarray:
    """The nearest K centroid of every row's features, the features computed as features.h5 stores them
    (training/features.py: eval mode, the extraction's batches, plan and precision), block by block."""
    plan = accel_plan(device, tuple(x.shape[1:]), len(x), precision=spec["precision"])
    prepare_modules(plan, net)
    net.eval()
    centroids = K.centroids.detach().float().cpu().numpy()
    out = []
    for i in range(0, len(x), spec["extract_batch"]):
        with autocast(plan):
            h = net.features(to_layout(x[i : i + spec["extract_batch"]].to(device, non_blocking=True), plan))
        out.append(assign(h.float().cpu().numpy(), centroids))
    return np.concatenate(out).astype(np.int64)
