"""Mode-collapse metrics for the 2D mixtures (self-conditioned GAN paper, section 4.2).

Definitions (docs/metrics.md): every sample is assigned to its nearest mean.
- high quality (ball): within 3 std of that mean in Euclidean distance;
- high quality (box): within 3 std on each axis (the looser square around the mean);
- modes covered: means with at least one high-quality (ball) sample;
- reverse KL: KL(q || p) in nats, q = share of *all* samples nearest each mean, p = uniform.
"""

from __future__ import annotations

import torch


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
