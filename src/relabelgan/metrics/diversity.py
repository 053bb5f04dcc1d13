"""Intra-class MS-SSIM (AC-GAN paper, section 4.2): how alike two samples of the same class are.

Lower means more diverse. The maintained ``pytorch_msssim.ms_ssim`` keeps its five scales and weights
but requires an image side > (window - 1) * 16 whatever the weights, so the standard 11-px window
needs sides above 160. Our protocol (named in the metric, e.g. ``msssim_w3_40px``): a 3-px Gaussian
window (sigma 1.5) and images upsampled bilinearly by the smallest integer factor that makes their
side at least 33 px (8 px digits -> 40 px, 32 px CIFAR -> 64 px; 48 px STL-10 stays 48 px).
Numbers from this protocol are not comparable with the 11-px, native-resolution MS-SSIM of papers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ..core.seeding import derive_seed
from .registry import register_metric

if TYPE_CHECKING:
    from .context import RoundContext

WINDOW = 3
MIN_SIDE = (WINDOW - 1) * 16 + 1


def protocol_side(side: int) -> int:
    """Side the images are compared at: the native side times the smallest factor reaching MIN_SIDE."""
    return side * max(1, math.ceil(MIN_SIDE / side))


def protocol_name(side: int) -> str:
    """Metric name stem of this protocol at a native image side, e.g. ``msssim_w3_40px``."""
    return f"msssim_w{WINDOW}_{protocol_side(side)}px"


def pairwise_msssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of each pair (a[i], b[i]) of NCHW images in [-1, 1], under this module's protocol."""
    from pytorch_msssim import ms_ssim

    side = protocol_side(a.shape[-1])
    a01, b01 = (a.float() + 1) / 2, (b.float() + 1) / 2
    if side != a.shape[-1]:
        a01 = F.interpolate(a01, size=(side, side), mode="bilinear", align_corners=False)
        b01 = F.interpolate(b01, size=(side, side), mode="bilinear", align_corners=False)
    return ms_ssim(a01.clamp(0, 1), b01.clamp(0, 1), data_range=1.0, size_average=False, win_size=WINDOW)


def pairs_per_class(pairs: int, min_total: int, n_classes: int) -> int:
    """``pairs`` per class (the AC-GAN paper's 100), raised so that all classes together get at least
    ``min_total``: with few classes (an unconditional GAN has one) the paper's count leaves the mean too
    noisy to compare runs (docs/metrics.md). More pairs change the estimate's spread, not what it estimates."""
    return max(pairs, math.ceil(min_total / max(n_classes, 1)))


def intra_class_msssim(images: torch.Tensor, classes: np.ndarray, pairs: int, seed: int, min_total: int = 0) -> float:
    """Mean over classes (with >= 2 members) of the mean MS-SSIM of seeded random pairs within the class:
    ``pairs`` per class, more where the classes together would have fewer than ``min_total``."""
    rng = np.random.default_rng(seed)
    classes = np.asarray(classes)
    labels, sizes = np.unique(classes, return_counts=True)
    scored = labels[sizes >= 2]
    n_pairs = pairs_per_class(pairs, min_total, len(scored))
    per_class = []
    for c in scored:
        members = np.flatnonzero(classes == c)
        first = rng.choice(members, size=n_pairs)
        # A partner different from the first of each pair: shift by a random non-zero offset.
        pos = np.searchsorted(members, first)
        second = members[(pos + rng.integers(1, len(members), size=n_pairs)) % len(members)]
        with torch.no_grad():
            per_class.append(float(pairwise_msssim(images[first], images[second]).mean()))
    return float(np.mean(per_class)) if per_class else float("nan")


def _pairs(spec: dict) -> tuple[int, int]:
    return int(spec["msssim_pairs"]), int(spec["msssim_pairs_total"])


@register_metric(
    "msssim",
    ("msssim_w3_{side}px_gen_intra", "msssim_w3_{side}px_real_intra"),
    applies=lambda ctx: ctx.data.is_image,
)
def msssim_round_metrics(ctx: RoundContext) -> dict[str, float]:
    """Intra-class MS-SSIM of the generated samples by the class G was given and, given the labels G
    trained on, of those classes' real members (the diversity G was asked to reproduce)."""
    pairs, total = _pairs(ctx.spec)
    stem = protocol_name(ctx.data.x.shape[-1])
    seed = derive_seed(ctx.spec["seed"], "msssim", ctx.rnd)
    x, y_gen = ctx.samples
    values = {f"{stem}_gen_intra": intra_class_msssim(x, y_gen.numpy(), pairs, seed, total)}
    if ctx.labels is not None:
        real = ctx.data.x[ctx.labels.sample_index]
        values[f"{stem}_real_intra"] = intra_class_msssim(real, ctx.labels.labels, pairs, seed, total)
    return values


@register_metric(
    "msssim_by_true_class",
    ("msssim_w3_{side}px_gen_intra_clf", "msssim_w3_{side}px_real_intra_truth"),
    applies=lambda ctx: ctx.data.is_image and ctx.data.y is not None and ctx.predicted is not None,
    final_only=True,
)
def msssim_by_true_class(ctx: RoundContext) -> dict[str, float]:
    """Within-class diversity on one footing for every method, conditional or not: generated samples
    grouped by the class the evaluator reads in them (``_gen_intra_clf``), real samples by their true
    class (``_real_intra_truth``); docs/metrics.md."""
    pairs, total = _pairs(ctx.spec)
    stem = protocol_name(ctx.data.x.shape[-1])
    seed = derive_seed(ctx.spec["seed"], "msssim-truth", ctx.rnd)
    assert ctx.predicted is not None and ctx.data.y is not None  # applies() holds
    return {
        f"{stem}_gen_intra_clf": intra_class_msssim(ctx.samples[0], ctx.predicted, pairs, seed, total),
        f"{stem}_real_intra_truth": intra_class_msssim(ctx.data.x, ctx.data.y.numpy(), pairs, seed, total),
    }
