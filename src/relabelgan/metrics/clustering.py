"""How well a round's labels recover the ground-truth classes (self-conditioned GAN paper, Table 4)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def contingency(a: np.ndarray, b: np.ndarray, k_a: int | None = None, k_b: int | None = None) -> np.ndarray:
    """(k_a, k_b) matrix: how many samples have label i in ``a`` and label j in ``b``.

    The one count matrix behind matching, parents, audit transitions and the clustering scores;
    ``k_a``/``k_b`` default to the largest label + 1.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    k_a = int(a.max()) + 1 if k_a is None else k_a
    k_b = int(b.max()) + 1 if k_b is None else k_b
    return np.bincount(a * k_b + b, minlength=k_a * k_b).reshape(k_a, k_b)


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """(1/N) Σ_c max_y |cluster c ∩ class y|: 1 when every cluster holds a single class."""
    return float(contingency(labels, truth).max(1).sum() / len(labels))


def best_permutation_accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    """Accuracy after the one-to-one cluster→class assignment that maximises it (Hungarian method).

    With more clusters than classes, the unmatched clusters count as wrong, so splitting a class
    in two costs accuracy (unlike purity); with fewer, the unmatched classes count as wrong.
    """
    both = contingency(labels, truth)
    rows, cols = linear_sum_assignment(both, maximize=True)
    return float(both[rows, cols].sum() / len(labels))


def clustering_metrics(labels: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """NMI (arithmetic normalisation, = 2I/(H(X)+H(Y)) as in the paper), purity and best-permutation accuracy."""
    from sklearn.metrics import normalized_mutual_info_score  # lazily: audit and relabel need only counts

    return {
        "nmi": float(normalized_mutual_info_score(truth, labels, average_method="arithmetic")),
        "purity": purity(labels, truth),
        "accuracy": best_permutation_accuracy(labels, truth),
    }
