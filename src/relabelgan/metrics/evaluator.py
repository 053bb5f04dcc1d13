"""`relabelgan train-evaluator`: a classifier of the dataset's ground truth, and the metrics it gives.

The evaluator is trained once per dataset (its own rule), on a seeded train/test split; its test
accuracy is reported beside it, because every number it gives is only as good as it is. For generated
samples it gives (docs/metrics.md):
- ``clf_modes``: classes predicted for at least one sample (Stacked MNIST: of the 1000 digit triples);
- ``clf_reverse_kl``: KL(q || p) of the predicted class histogram q against the real data's p;
- ``clf_frechet``: Fréchet distance between generated and real data in the evaluator's last hidden layer.
For Stacked MNIST the evaluator is an MNIST digit classifier applied to each of the three channels.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..core.artifacts import ArtifactError, LabelRound, atomic_path
from ..core.errors import ConfigError
from ..data import load_dataset
from ..data.base import Dataset
from ..data.registry import dataset_kind
from ..training.device import derive_seed
from .frechet import feature_stats, frechet_distance
from .registry import register_metric

if TYPE_CHECKING:
    from .context import RoundContext

EVALUATOR_FORMAT = "relabelgan-evaluator/1"
FEATURE_DIM = 128


def build_classifier(data_shape: list[int], n_classes: int) -> nn.Module:
    """An MLP for 2D points, a small conv net for images; the last hidden layer has FEATURE_DIM units."""
    if len(data_shape) == 1:
        body = nn.Sequential(
            nn.Linear(data_shape[0], FEATURE_DIM), nn.ReLU(), nn.Linear(FEATURE_DIM, FEATURE_DIM), nn.ReLU()
        )
    else:
        c = data_shape[0]
        body = nn.Sequential(
            nn.Conv2d(c, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, FEATURE_DIM, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
    return nn.Sequential(body, nn.Linear(FEATURE_DIM, n_classes))


def _training_set(dataset_spec: dict, name: str) -> Dataset:
    """The data the evaluator learns: the dataset itself, or the kind its registry entry names (single
    MNIST digits for Stacked MNIST)."""
    kind = dataset_kind(dataset_spec["kind"]).evaluator_kind
    if kind is None:
        raise ConfigError(f"dataset {name}: kind {dataset_spec['kind']!r} has no evaluator classifier")
    return load_dataset({**dataset_spec, "kind": kind}, name)


def train_evaluator(
    dataset_spec: dict,
    name: str,
    out: str,
    report: str,
    epochs: int,
    test_fraction: float,
    seed: int,
    batch_size: int = 128,
    lr: float = 1e-3,
) -> float:
    """Train the evaluator of one dataset, save it to ``out`` with its real-data statistics, return test accuracy."""
    data = _training_set(dataset_spec, name)
    if data.y is None:
        raise ArtifactError(f"dataset {name!r} has no ground-truth labels; an evaluator cannot be trained on it")
    torch.manual_seed(derive_seed(seed, "evaluator", name, "init"))
    perm = np.random.default_rng(derive_seed(seed, "evaluator", name, "split")).permutation(len(data))
    n_test = max(1, int(round(test_fraction * len(data))))
    test, train = perm[:n_test], perm[n_test:]
    model = build_classifier(list(data.x.shape[1:]), data.n_classes)
    gen = torch.Generator().manual_seed(derive_seed(seed, "evaluator", name, "batches"))
    _fit(model, data.x[train], data.y[train], epochs, batch_size, lr, gen)
    model.eval()
    with torch.no_grad():
        accuracy = float((_logits(model, data.x[test]).argmax(1) == data.y[test]).double().mean())
        real_features = _features(model, data.x).numpy()
    mu, sigma = feature_stats(real_features)
    record = {"n_train": len(train), "n_test": len(test), "epochs": int(epochs), "seed": int(seed)}
    state = {
        "format": EVALUATOR_FORMAT,
        "dataset": name,
        "data_shape": list(data.x.shape[1:]),
        "n_classes": int(data.n_classes),
        "state_dict": model.state_dict(),
        "test_accuracy": accuracy,
        **record,
        # Real-data statistics are computed once here, so every round's evaluation reuses them.
        "real_mu": torch.from_numpy(mu),
        "real_sigma": torch.from_numpy(sigma),
        "real_class_freq": torch.bincount(data.y, minlength=data.n_classes).double() / len(data),
    }
    with atomic_path(out) as tmp:
        torch.save(state, tmp)
    _write_report(report, {"dataset": name, "metric": "evaluator_test_accuracy", "value": accuracy, **record})
    return accuracy


def _fit(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, lr: float, gen: torch.Generator
) -> None:
    """Adam on cross-entropy, ``epochs`` passes over (x, y) in seeded random order."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def _write_report(path: str, row: dict) -> None:
    """evaluator.csv: one row (dataset, metric, value and how it was measured)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)


def _batch(x: torch.Tensor) -> int:
    """Samples per inference batch: 4096, fewer for larger images (16 px: 1024, 32 px: 256), whose conv
    activations would otherwise take hundreds of MB per batch and run slower. 2D points and 8x8 digits
    get 4096, the batches their committed evaluators were computed in."""
    return min(4096, max(1, 2**18 // max(1, x[0].numel())))


@torch.no_grad()
def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    batch = _batch(x)
    return torch.cat([model[0](x[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    batch = _batch(x)
    return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def _read(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, features) per sample in one pass: ``model(x)`` is ``model[1](model[0](x))``,
    so both are the values :func:`_logits` and :func:`_features` give."""
    batch = _batch(x)
    preds, feats = [], []
    for i in range(0, len(x), batch):
        f = model[0](x[i : i + batch])
        preds.append(model[1](f).argmax(1))
        feats.append(f)
    return torch.cat(preds).numpy(), torch.cat(feats).numpy()


@dataclass
class Evaluator:
    """A trained evaluator and the real data's statistics in its feature space."""

    model: nn.Module
    data_shape: list[int]
    n_classes: int
    test_accuracy: float
    real_mu: np.ndarray
    real_sigma: np.ndarray
    real_class_freq: np.ndarray

    def per_channel(self, x: torch.Tensor) -> bool:
        """Stacked MNIST: a 1-channel evaluator reads each channel of 3-channel images as one digit."""
        return len(self.data_shape) == 3 and self.data_shape[0] == 1 and x.dim() == 4 and x.shape[1] > 1

    def classify(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray, int]:
        """(predicted class per sample, features per sample, number of possible classes)."""
        self.model.eval()
        if self.per_channel(x):
            c = x.shape[1]
            preds, feats = zip(*(_read(self.model, x[:, i : i + 1]) for i in range(c)))
            # Channel 0 is the most significant digit, as in data.mnist.load_stacked_mnist.
            cls = sum(p * self.n_classes ** (c - 1 - i) for i, p in enumerate(preds))
            return cls, np.concatenate(feats, 1), self.n_classes**c
        return (*_read(self.model, x), self.n_classes)


def load_evaluator(path: str) -> Evaluator:
    """Load an evaluator.pt (``weights_only=True``); a damaged or foreign file gets an error naming it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ArtifactError(
            f"{path}: evaluator not found; build it with the workflow (rule train_evaluator)."
        ) from None
    except Exception as e:
        raise ArtifactError(
            f"{path}: cannot load evaluator ({type(e).__name__}: {e}); delete it and rerun train_evaluator."
        ) from e
    if not isinstance(state, dict) or state.get("format") != EVALUATOR_FORMAT:
        raise ArtifactError(f"{path}: not a {EVALUATOR_FORMAT} file")
    model = build_classifier(state["data_shape"], state["n_classes"])
    model.load_state_dict(state["state_dict"])
    model.eval()
    return Evaluator(
        model,
        state["data_shape"],
        state["n_classes"],
        state["test_accuracy"],
        state["real_mu"].numpy(),
        state["real_sigma"].numpy(),
        state["real_class_freq"].numpy(),
    )


def class_histogram_metrics(pred: np.ndarray, n_classes: int, reference: np.ndarray | None = None) -> dict[str, float]:
    """Modes (classes with >= 1 sample) and KL(q || p) in nats of the predicted histogram q.

    ``reference`` is p (uniform when None); classes with q = 0 add nothing, classes with p = 0
    but q > 0 make the divergence infinite.
    """
    q = np.bincount(pred, minlength=n_classes).astype(np.float64) / len(pred)
    p = np.full(n_classes, 1.0 / n_classes) if reference is None else np.asarray(reference, dtype=np.float64)
    nz = q > 0
    with np.errstate(divide="ignore"):
        kl = float(np.sum(q[nz] * (np.log(q[nz]) - np.log(p[nz]))))
    return {"modes": float(nz.sum()), "reverse_kl": kl}


def class_agreement(pred: np.ndarray, classes: np.ndarray, dominant: np.ndarray) -> float:
    """Share of samples read as the dominant true class of the class they were generated for
    (``dominant[c]``: the true class most real members of class c have; -1 for an empty class)."""
    return float(np.mean(pred == dominant[classes]))


def evaluator_metrics(
    evaluator: Evaluator,
    samples: torch.Tensor,
    classes: np.ndarray | None = None,
    dominant: np.ndarray | None = None,
    classified: tuple[np.ndarray, np.ndarray, int] | None = None,
) -> dict[str, float]:
    """``clf_*`` metrics of generated samples (see the module docstring); with the classes the samples
    were generated for and each class's dominant true class, also ``clf_class_agreement``.
    ``classified``: ``evaluator.classify(samples)`` when the caller has it already."""
    pred, feats, n_possible = classified if classified is not None else evaluator.classify(samples)
    if evaluator.per_channel(samples):
        # Stacked MNIST: the reference distribution of triples is uniform (1000 modes), as in the papers.
        hist = class_histogram_metrics(pred, n_possible)
        fd = float("nan")  # the real statistics are of single digits, not of triples
    else:
        hist = class_histogram_metrics(pred, n_possible, evaluator.real_class_freq)
        fd = frechet_distance(*feature_stats(feats), evaluator.real_mu, evaluator.real_sigma)
    out = {"clf_modes": hist["modes"], "clf_reverse_kl": hist["reverse_kl"]}
    if np.isfinite(fd):
        out["clf_frechet"] = fd
    if classes is not None and dominant is not None:
        out["clf_class_agreement"] = class_agreement(pred, classes, dominant)
    return out


def dominant_truth(labels: LabelRound, truth: np.ndarray) -> np.ndarray:
    """Per class of ``labels``, the true class most of its members have (-1 for an empty class): what a
    sample generated for that class should look like, for ``clf_class_agreement``."""
    member_truth = truth[labels.sample_index]
    dominant = np.full(labels.k, -1, dtype=np.int64)
    for c in np.unique(labels.labels):
        dominant[c] = np.bincount(member_truth[labels.labels == c]).argmax()
    return dominant


@register_metric(
    "evaluator",
    ("clf_modes_{n}", "clf_reverse_kl_{n}", "clf_frechet_{n}", "clf_class_agreement_{n}"),
    applies=lambda ctx: ctx.evaluator is not None,
)
def evaluator_round_metrics(ctx: RoundContext) -> dict[str, float]:
    """The evaluator classifier's ``clf_*`` metrics of the round's samples; ``clf_class_agreement`` where
    G's classes are the labels' (not so for a split round's new classes)."""
    labels, data, state = ctx.labels, ctx.data, ctx.state
    truth = labels is not None and data.y is not None and labels.k == int(state["arch"]["n_classes"])
    dominant = dominant_truth(labels, data.y.numpy()) if truth else None
    x, y_gen = ctx.samples
    values = evaluator_metrics(ctx.evaluator, x, y_gen.numpy(), dominant, ctx.classified)
    return {f"{k}_{ctx.tag}": v for k, v in values.items()}
