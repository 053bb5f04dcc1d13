"""Nearest-neighbour check: are generated samples copies of training samples?

For each generated sample, the Euclidean distance (pixels or 2D coordinates) to its nearest training
sample; for a seeded subset of training samples, the distance to their nearest *other* training sample.
``nn_ratio`` = median generated distance / median training distance: near 1 when samples are as far
from the training set as real samples are from each other, near 0 when the generator copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..core.seeding import derive_seed
from .registry import protocol, register_metric

if TYPE_CHECKING:
    from .context import RoundContext


def nearest_training(generated: torch.Tensor, train: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each generated sample's nearest training sample."""
    from sklearn.neighbors import NearestNeighbors  # lazily: registering the metric needs no scikit-learn

    nn = NearestNeighbors(n_neighbors=1).fit(train.reshape(len(train), -1).numpy())
    dist, idx = nn.kneighbors(generated.reshape(len(generated), -1).numpy())
    return dist[:, 0], idx[:, 0]


def nearest_neighbour_metrics(generated: torch.Tensor, train: torch.Tensor, seed: int) -> dict[str, float]:
    """``nn_gen_median``, ``nn_train_median`` and their ratio ``nn_ratio`` (see the module docstring)."""
    from sklearn.neighbors import NearestNeighbors

    flat = train.reshape(len(train), -1).numpy()
    gen_dist, _ = nearest_training(generated, train)
    rng = np.random.default_rng(seed)
    probe = rng.choice(len(flat), size=min(len(generated), len(flat)), replace=False)
    # The nearest neighbour of a training sample among the training set is itself; take the second.
    train_dist = NearestNeighbors(n_neighbors=2).fit(flat).kneighbors(flat[probe])[0][:, 1]
    gen_median, train_median = float(np.median(gen_dist)), float(np.median(train_dist))
    return {
        "nn_gen_median": gen_median,
        "nn_train_median": train_median,
        "nn_ratio": gen_median / train_median if train_median > 0 else float("nan"),
    }


@register_metric(
    "nearest",
    ("nn_gen_median_{n}", "nn_train_median_{n}", "nn_ratio_{n}"),
    applies=lambda ctx: ctx.data.is_image,
    final_only=True,
)
def nearest_round_metrics(ctx: RoundContext) -> dict[str, float]:
    """The final model's copy check: ``nn_*_{n}`` of the first ``nn_samples`` evaluation samples."""
    x = ctx.samples[0]
    n = min(int(ctx.spec["nn_samples"]), len(x))
    seed = derive_seed(ctx.spec["seed"], "nn-probe", ctx.rnd)
    return {f"{k}_{protocol(n)}": v for k, v in nearest_neighbour_metrics(x[:n], ctx.data.x, seed).items()}
