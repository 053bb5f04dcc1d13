"""`relabelgan train-evaluator`: a classifier of the dataset's ground truth, and the metrics it gives.

The evaluator is trained once per dataset (its own rule), on a seeded train/test split; its test
accuracy is reported beside it, because every number it gives is only as good as it is. For generated
samples it gives (docs/metrics.md):
- ``clf_modes``: classes predicted for at least one sample (Stacked MNIST: of the 1000 digit triples);
- ``clf_reverse_kl``: KL(q || p) of the predicted class histogram q against the real data's p;
- ``clf_frechet``: Fréchet distance between generated and real data in the evaluator's last hidden layer.
For Stacked MNIST the evaluator is an MNIST digit classifier applied to each of the three channels,
and ``clf_reverse_kl_log10`` gives the same divergence in log10 units (the self-conditioned GAN's code).

How an evaluator is built and trained is its recipe (:data:`RECIPES`), chosen per dataset kind by
``evaluator_recipe`` in data/registry.py: "basic" for ring, grid and digits (the conv net / MLP and
plain Adam these kinds' committed results were measured with), "digit_cnn" for mnist and stacked_mnist.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from ..core.artifacts import ArtifactError, LabelRound, atomic_path
from ..core.config import evaluator_settings
from ..core.errors import ConfigError
from ..data import load_dataset
from ..data.base import Dataset
from ..data.registry import dataset_kind, evaluator_recipe
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


def build_digit_cnn(data_shape: list[int], n_classes: int, dropout: float = 0.5) -> nn.Module:
    """Three conv blocks (3x3 conv, BatchNorm, ReLU, 2x2 max-pool; 32/64/128 channels), a FEATURE_DIM-unit
    hidden layer (the feature space), then dropout and the output layer."""
    c, h, w = data_shape
    layers: list[nn.Module] = []
    for width in (32, 64, 128):
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
        c, h, w = width, math.ceil(h / 2), math.ceil(w / 2)
    body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h * w, FEATURE_DIM), nn.ReLU())
    return nn.Sequential(body, nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURE_DIM, n_classes)))


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator, fill: float = -1.0) -> torch.Tensor:
    """Each image translated by its own seeded random offset in -max_shift..max_shift px per axis; the
    pixels shifted in are ``fill`` (the blank background of images in [-1, 1])."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4, value=fill).permute(0, 2, 3, 1)  # N, H', W', C
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (n,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols].permute(0, 3, 1, 2).contiguous()


def _fit_digit_cnn(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, settings: dict, gen: torch.Generator, shifts: torch.Generator
) -> None:
    """Adam on cross-entropy with its rate decayed to 0 on a cosine over all steps, each batch randomly
    shifted (``settings``: the evaluator block's ``digit_cnn``)."""
    batch_size = settings["batch_size"]
    opt = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    steps = settings["epochs"] * math.ceil(len(x) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    for _ in range(settings["epochs"]):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(random_shift(x[idx], settings["max_shift"], shifts)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()


@dataclass(frozen=True)
class Recipe:
    """How an evaluator is built (``build(data_shape, n_classes, settings)``) and trained
    (``fit(model, x, y, settings, batch_order_gen, augment_gen)``); ``settings`` are the recipe's."""

    build: Callable[[list[int], int, dict], nn.Module]
    fit: Callable[[nn.Module, torch.Tensor, torch.Tensor, dict, torch.Generator, torch.Generator], None]


RECIPES: dict[str, Recipe] = {
    # ring, grid, digits: the evaluator their committed results were measured with (top-level settings).
    "basic": Recipe(
        build=lambda shape, n, settings: build_classifier(shape, n),
        fit=lambda model, x, y, s, gen, _: _fit(model, x, y, s["epochs"], s["batch_size"], s["lr"], gen),
    ),
    # mnist, stacked_mnist: a digit reader accurate enough that a triple is read right (the `digit_cnn` block).
    "digit_cnn": Recipe(
        build=lambda shape, n, settings: build_digit_cnn(shape, n, settings["dropout"]),
        fit=_fit_digit_cnn,
    ),
}


def recipe_settings(recipe: str, settings: dict) -> dict:
    """A recipe's settings in a completed evaluator block: the top-level keys for "basic", else its block."""
    if recipe == "basic":
        return {key: settings[key] for key in ("epochs", "batch_size", "lr")}
    return dict(settings[recipe])


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
    *,
    digit_cnn: dict | None = None,
    triples: int | None = None,
) -> float:
    """Train the evaluator of one dataset with its kind's recipe, save it to ``out`` with its real-data
    statistics, write ``report`` (evaluator.csv) and return the held-out accuracy.

    ``epochs``, ``batch_size``, ``lr``: the basic recipe's (ring, grid, digits); ``digit_cnn``: the
    mnist / stacked_mnist recipe's (keys not given: the schema's defaults); ``triples``: how many images
    stacked from held-out samples give a stacked kind's triple accuracy and ceiling (None: the default).
    """
    given: dict[str, Any] = {
        "epochs": epochs, "test_fraction": test_fraction, "seed": seed, "batch_size": batch_size, "lr": lr
    }  # fmt: skip
    given |= {key: v for key, v in (("digit_cnn", digit_cnn), ("triples", triples)) if v is not None}
    settings = evaluator_settings(given)
    data = _training_set(dataset_spec, name)
    if data.y is None:
        raise ArtifactError(f"dataset {name!r} has no ground-truth labels; an evaluator cannot be trained on it")
    recipe_name = evaluator_recipe(dataset_spec["kind"])
    own = recipe_settings(recipe_name, settings)
    model, test, train = _train_recipe(data, name, seed, test_fraction, RECIPES[recipe_name], own)
    with torch.no_grad():
        accuracy = float((_logits(model, data.x[test]).argmax(1) == data.y[test]).double().mean())
        real_features = _features(model, data.x).numpy()
    mu, sigma = feature_stats(real_features)
    freq = torch.bincount(data.y, minlength=data.n_classes).double() / len(data)
    record = {"n_train": len(train), "n_test": len(test), "epochs": int(own["epochs"]), "seed": int(seed)}
    state = {
        "format": EVALUATOR_FORMAT,
        "dataset": name,
        "data_shape": list(data.x.shape[1:]),
        "n_classes": int(data.n_classes),
        "recipe": recipe_name,
        "recipe_settings": own,
        "state_dict": model.state_dict(),
        "test_accuracy": accuracy,
        **record,
        # Real-data statistics are computed once here, so every round's evaluation reuses them.
        "real_mu": torch.from_numpy(mu),
        "real_sigma": torch.from_numpy(sigma),
        "real_class_freq": freq,
    }
    with atomic_path(out) as tmp:
        torch.save(state, tmp)
    evaluator = Evaluator(model, list(data.x.shape[1:]), data.n_classes, accuracy, mu, sigma, freq.numpy())
    _write_report(report, _report_rows(dataset_spec["kind"], name, evaluator, data, test, record, settings))
    return accuracy


def _report_rows(
    kind: str, name: str, evaluator: Evaluator, data: Dataset, test: np.ndarray, record: dict, settings: dict
) -> list[dict]:
    """evaluator.csv's rows: the held-out accuracy; for a stacked kind (Stacked MNIST) also how the mode
    counter reads ``settings['triples']`` real images stacked from the held-out samples (stacked_report)."""
    rows = [{"dataset": name, "metric": "evaluator_test_accuracy", "value": evaluator.test_accuracy, **record}]
    channels = dataset_kind(kind).stacked_channels
    if channels:
        seed = derive_seed(record["seed"], "evaluator", name, "triples")
        x, y = stack_held_out(data, test, settings["triples"], channels, seed)
        rows += [{**rows[0], "metric": m, "value": v, "n_stacked": len(x)} for m, v in stacked_report(evaluator, x, y)]
    return rows


def _train_recipe(
    data: Dataset, name: str, seed: int, test_fraction: float, recipe: Recipe, settings: dict
) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    """(model trained by ``recipe``, in eval mode; held-out indices; training indices). The split, the
    initialisation, the batch order and the recipe's random shifts each have their own seed stream."""
    assert data.y is not None  # train_evaluator refuses a dataset without labels
    torch.manual_seed(derive_seed(seed, "evaluator", name, "init"))
    perm = np.random.default_rng(derive_seed(seed, "evaluator", name, "split")).permutation(len(data))
    n_test = max(1, int(round(test_fraction * len(data))))
    test, train = perm[:n_test], perm[n_test:]
    model = recipe.build(list(data.x.shape[1:]), data.n_classes, settings)
    gen = torch.Generator().manual_seed(derive_seed(seed, "evaluator", name, "batches"))
    shifts = torch.Generator().manual_seed(derive_seed(seed, "evaluator", name, "shifts"))
    recipe.fit(model, data.x[train], data.y[train], settings, gen, shifts)
    model.eval()
    return model, test, train


def stack_held_out(
    data: Dataset, test: np.ndarray, n: int, channels: int, seed: int
) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` images stacking ``channels`` seeded random held-out samples (indices ``test``), one per
    channel, and their classes (channel 0 the most significant digit, as data.mnist.load_stacked_mnist)."""
    assert data.y is not None  # an evaluator's data has labels
    picks = test[np.random.default_rng(seed).integers(0, len(test), size=(n, channels))]
    x = data.x[:, 0][torch.from_numpy(picks)]
    y = data.y.numpy()[picks] @ (data.n_classes ** np.arange(channels - 1, -1, -1))
    return x, y


def stacked_report(evaluator: Evaluator, x: torch.Tensor, y: np.ndarray) -> list[tuple[str, float]]:
    """What the mode counter gives for real stacked images ``x`` of classes ``y``: the share read right in
    every channel, and its modes and reverse KL (the ceiling a generator can reach) beside the true
    classes' (what a perfect reader would give on the same images)."""
    pred, _, n_possible = evaluator.classify(x)
    rows = [("evaluator_triple_accuracy", float(np.mean(pred == y)))]
    for who, classes in (("ceiling", pred), ("truth", y)):
        hist = class_histogram_metrics(classes, n_possible)
        rows += [
            (f"evaluator_{who}_modes", hist["modes"]),
            (f"evaluator_{who}_reverse_kl", hist["reverse_kl"]),
            (f"evaluator_{who}_reverse_kl_log10", hist["reverse_kl"] / math.log(10)),
        ]
    return rows


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


def _write_report(path: str, rows: list[dict]) -> None:
    """evaluator.csv: one row per metric (dataset, metric, value and how it was measured; ``n_stacked``:
    the stacked images a stacked kind's triple rows are measured on, blank for the accuracy row)."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _batch(x: torch.Tensor) -> int:
    """Samples per inference batch: 4096, fewer for larger images (16 px: 1024, 32 px: 256), whose conv
    activations would otherwise take hundreds of MB per batch and run slower. 2D points and 8x8 digits
    get 4096, the batches their committed evaluators were computed in."""
    return min(4096, max(1, 2**18 // max(1, x[0].numel())))


@torch.no_grad()
def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    batch = _batch(x)
    body = model[0]  # type: ignore[index]  # the Sequential of _network: (body, head)
    return torch.cat([body(x[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    batch = _batch(x)
    return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def _read(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, features) per sample in one pass: ``model(x)`` is ``model[1](model[0](x))``,
    so both are the values :func:`_logits` and :func:`_features` give."""
    batch, (body, head) = _batch(x), cast(nn.Sequential, model)
    preds, feats = [], []
    for i in range(0, len(x), batch):
        f = body(x[i : i + batch])
        preds.append(head(f).argmax(1))
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
            preds, feats = zip(*(_read(self.model, x[:, i : i + 1]) for i in range(c)), strict=True)
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
    recipe = state.get("recipe", "basic")  # files written before recipes were basic
    if recipe not in RECIPES:
        raise ArtifactError(f"{path}: evaluator recipe {recipe!r} unknown here ({', '.join(RECIPES)})")
    model = RECIPES[recipe].build(state["data_shape"], state["n_classes"], state.get("recipe_settings", {}))
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
    per_channel = evaluator.per_channel(samples)
    if per_channel:
        # Stacked MNIST: the reference distribution of triples is uniform (1000 modes), as in the papers.
        hist = class_histogram_metrics(pred, n_possible)
        fd = float("nan")  # the real statistics are of single digits, not of triples
    else:
        hist = class_histogram_metrics(pred, n_possible, evaluator.real_class_freq)
        fd = frechet_distance(*feature_stats(feats), evaluator.real_mu, evaluator.real_sigma)
    out = {"clf_modes": hist["modes"], "clf_reverse_kl": hist["reverse_kl"]}
    if per_channel:  # also in log10 units, as the self-conditioned GAN's reference code reports it
        out["clf_reverse_kl_log10"] = hist["reverse_kl"] / math.log(10)
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
    ("clf_modes_{n}", "clf_reverse_kl_{n}", "clf_reverse_kl_log10_{n}", "clf_frechet_{n}", "clf_class_agreement_{n}"),
    applies=lambda ctx: ctx.evaluator is not None,
)
def evaluator_round_metrics(ctx: RoundContext) -> dict[str, float]:
    """The evaluator classifier's ``clf_*`` metrics of the round's samples; ``clf_class_agreement`` where
    G's classes are the labels' (not so for a split round's new classes)."""
    labels, y, state = ctx.labels, ctx.data.y, ctx.state
    # A one-class G (uncond) has no classes to follow; a split round's new classes are not the labels'.
    same_classes = labels is not None and 1 < labels.k == int(state["arch"]["n_classes"])
    dominant = dominant_truth(labels, y.numpy()) if labels is not None and y is not None and same_classes else None
    x, y_gen = ctx.samples
    assert ctx.evaluator is not None  # applies() holds
    values = evaluator_metrics(ctx.evaluator, x, y_gen.numpy(), dominant, ctx.classified)
    return {f"{k}_{ctx.tag}": v for k, v in values.items()}
