"""How well a round's labels recover the ground-truth classes (self-conditioned GAN paper, Table 4)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import normalized_mutual_info_score


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """(1/N) Σ_c max_y |cluster c ∩ class y|: 1 when every cluster holds a single class."""
    both = np.zeros((labels.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(both, (labels, truth), 1)
    return float(both.max(1).sum() / len(labels))


def clustering_metrics(labels: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """NMI (arithmetic normalisation, = 2I/(H(X)+H(Y)) as in the paper) and purity."""
    return {
        "nmi": float(normalized_mutual_info_score(truth, labels, average_method="arithmetic")),
        "purity": purity(labels, truth),
    }
