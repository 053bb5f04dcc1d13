"""Mode-collapse metrics for the 2D mixtures (self-conditioned GAN paper, section 4.2).

Definitions (docs/metrics.md): every sample is assigned to its nearest mean.
- high quality (ball): within 3 std of that mean in Euclidean distance;
- high quality (box): within 3 std on each axis (the looser square around the mean);
- modes covered: means with at least one high-quality (ball) sample;
- reverse KL: KL(q || p) in nats, q = share of *all* samples nearest each mean, p = uniform.

Distribution-level metrics, which see over-sharp or smeared samples that the mode metrics miss:
- spread ratio: per mode, the spread of its high-quality (ball) generated samples over the same
  statistic of the real training points of that mode, averaged over the modes with samples;
- MMD²: unbiased squared maximum mean discrepancy between a seeded subsample of generated and
  of real points, Gaussian kernel with bandwidth = the mixture's std.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..core.seeding import derive_seed
from .registry import protocol, register_metric

if TYPE_CHECKING:
    from .context import RoundContext

MMD_SAMPLES = 2000  # points per side: 3 kernel matrices of 2000², ~0.5 s at load 11 on the 2-core machine


def mixture_metrics(samples: torch.Tensor, means: torch.Tensor, std: float) -> dict[str, float]:
    """All four metrics at once, vectorised over samples."""
    d2 = torch.cdist(samples.double(), means.double())
    dist, nearest = d2.min(1)
    diff = (samples.double() - means.double()[nearest]).abs()
    hq_ball = dist <= 3 * std
    hq_box = (diff <= 3 * std).all(1)
    m = len(means)
    covered = torch.bincount(nearest[hq_ball], minlength=m) > 0
    q = torch.bincount(nearest, minlength=m).double() / len(samples)
    nz = q > 0
    reverse_kl = (q[nz] * torch.log(q[nz] * m)).sum()
    return {
        "modes": float(covered.sum()),
        "hq_ball_pct": 100.0 * float(hq_ball.double().mean()),
        "hq_box_pct": 100.0 * float(hq_box.double().mean()),
        "reverse_kl": float(reverse_kl),
    }


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances, each computed from the coordinate differences as scipy's ``cdist``
    does (not through |a|² + |b|² - 2ab). torch is loaded in every job that scores a model; importing
    scipy.spatial for this would add half a second to each."""
    a_t, b_t = torch.from_numpy(np.asarray(a, np.float64)), torch.from_numpy(np.asarray(b, np.float64))
    return torch.cdist(a_t, b_t, compute_mode="donot_use_mm_for_euclid_dist").numpy()


def _nearest_and_hq(points: np.ndarray, means: np.ndarray, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest mean and whether it is high quality (within 3 std of it, Euclidean)."""
    d = _distances(points, means)
    nearest = d.argmin(1)
    return nearest, d[np.arange(len(points)), nearest] <= 3 * std


def _mode_spreads(points: np.ndarray, means: np.ndarray, std: float) -> np.ndarray:
    """Per mode: sqrt of the mean of the two per-axis sample variances (ddof 1) of its HQ points; NaN under 2."""
    nearest, hq = _nearest_and_hq(points, means, std)
    spreads = np.full(len(means), np.nan)
    for m in range(len(means)):
        members = points[hq & (nearest == m)]
        if len(members) >= 2:
            spreads[m] = np.sqrt(members.var(axis=0, ddof=1).mean())
    return spreads


def spread_ratio(samples: np.ndarray, real: np.ndarray, means: np.ndarray, std: float) -> float:
    """Mean over modes of (generated HQ spread / real HQ spread); 1 = as spread as the data, < 1 over-sharp.

    Both sides are filtered by the same 3-std ball, so the truncation cancels and the real data
    scores exactly 1; modes with fewer than 2 HQ generated samples are left out (NaN if none).
    The ball caps how smeared a mode can look (a uniform disc of radius 3 std gives about 1.5), so
    smearing shows in ``hq_*`` and MMD², sharpening here.
    """
    ratios = _mode_spreads(samples, means, std) / _mode_spreads(real, means, std)
    ratios = ratios[np.isfinite(ratios)]
    return float(ratios.mean()) if len(ratios) else float("nan")


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Unbiased MMD² of two equal-size samples, Gaussian kernel exp(-|a-b|² / (2 bandwidth²)).

    Gretton et al. (2012, JMLR), eq. 3: the mean over i != j of k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j)
    - k(x_j,y_i); 0 for identical sets, can dip slightly below 0 when the distributions agree.
    The squared distances come from ``_distances`` (scikit-learn's ``rbf_kernel`` computes the same kernel
    but its import costs half a second in every phase job, as scipy.spatial's would); neither library
    has an MMD, and ``dcor``'s energy distance would add numba for one number, hence these few lines.
    """
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"mmd2_unbiased needs two samples of the same size >= 2, got {len(x)} and {len(y)}")
    gamma = 1.0 / (2.0 * bandwidth**2)
    n = len(x)
    total = 0.0
    for a, b, sign in ((x, x, 1.0), (y, y, 1.0), (x, y, -2.0)):
        k = np.exp(-gamma * _distances(a, b) ** 2)
        total += sign * (k.sum() - np.trace(k)) / (n * (n - 1))
    return float(total)


def subsampled_mmd2(samples: np.ndarray, real: np.ndarray, bandwidth: float, size: int, seed: int) -> float:
    """MMD² between ``size`` generated and ``size`` real points drawn without replacement (seeded)."""
    rng = np.random.default_rng(seed)
    x = samples[rng.choice(len(samples), size, replace=False)]
    y = real[rng.choice(len(real), size, replace=False)]
    return mmd2_unbiased(x, y, bandwidth)


@register_metric(
    "mixture",
    ("modes_{n}", "hq_ball_pct_{n}", "hq_box_pct_{n}", "reverse_kl_{n}", "spread_ratio_{n}", "mmd2_rbf_{n}"),
    applies=lambda ctx: ctx.data.means is not None,
)
def mixture_round_metrics(ctx: RoundContext) -> dict[str, float]:
    """2D mixtures: modes, HQ share, reverse KL; spread ratio on all samples, MMD² on a seeded subsample."""
    x, data = ctx.samples[0], ctx.data
    assert data.means is not None and data.std is not None  # applies() holds: a 2D mixture
    values = {f"{k}_{ctx.tag}": v for k, v in mixture_metrics(x, data.means, data.std).items()}
    gen, real, means = x.double().numpy(), data.x.double().numpy(), data.means.double().numpy()
    size = min(MMD_SAMPLES, len(gen), len(real))
    mmd = subsampled_mmd2(gen, real, data.std, size, derive_seed(ctx.spec["seed"], "mmd", ctx.rnd))
    values[f"spread_ratio_{protocol(len(gen))}"] = spread_ratio(gen, real, means, data.std)
    values[f"mmd2_rbf_{protocol(size)}"] = mmd
    return values
