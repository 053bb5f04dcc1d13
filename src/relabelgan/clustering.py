"""How well a round's labels recover the ground-truth classes (self-conditioned GAN paper, Table 4)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score


def contingency(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(clusters, classes) matrix: how many samples of class y are in cluster c."""
    labels = np.asarray(labels, dtype=np.int64)
    truth = np.asarray(truth, dtype=np.int64)
    both = np.zeros((labels.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(both, (labels, truth), 1)
    return both


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
    return {
        "nmi": float(normalized_mutual_info_score(truth, labels, average_method="arithmetic")),
        "purity": purity(labels, truth),
        "accuracy": best_permutation_accuracy(labels, truth),
    }
