"""Dataset kinds by name: each says where its loader is, whether it holds images, how many samples the
config alone implies and which data its evaluator classifier learns (SG2's training/dataset.py answers
the same questions itself).

Torch-free: the config check, the relabel step and the Snakefile ask it; a loader is imported only when
a dataset is built. A kind's defaults are the schema's ``x-dataset-defaults`` (the one source of defaults).
Adding a dataset: a loader module in this package, one entry here, its kind in the schema.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetKind:
    name: str
    loader: str  # "module:function" in this package; the function takes (name, completed spec)
    images: bool  # NCHW images in [-1, 1]; otherwise 2D points of a Gaussian mixture
    evaluator_kind: str | None = None  # the kind whose data the evaluator classifier learns; None: no evaluator
    # How an evaluator of this kind's data is built and trained (metrics/evaluator.py RECIPES; "basic", or
    # the name of the recipe's block in the config's `evaluator` settings). Read on the evaluator_kind's entry.
    evaluator_recipe: str = "basic"
    stacked_channels: int | None = None  # images stack this many evaluator_kind samples, one per channel
    fixed_size: int | None = None  # samples when the kind has a fixed size (digits)
    sized_by_n: bool = False  # the spec's ``n`` is its size (sampled kinds)

    def load_function(self):
        module, function = self.loader.split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)


KINDS: dict[str, DatasetKind] = {
    kind.name: kind
    for kind in (
        DatasetKind("ring", "mixtures:load_ring", images=False, evaluator_kind="ring", sized_by_n=True),
        DatasetKind("grid", "mixtures:load_grid", images=False, evaluator_kind="grid", sized_by_n=True),
        DatasetKind("digits", "digits:load_digits", images=True, evaluator_kind="digits", fixed_size=1797),
        DatasetKind("mnist", "mnist:load_mnist", images=True, evaluator_kind="mnist", evaluator_recipe="digit_cnn"),
        # Stacked MNIST's evaluator reads each channel with a classifier of single MNIST digits.
        DatasetKind(
            "stacked_mnist",
            "mnist:load_stacked_mnist",
            images=True,
            evaluator_kind="mnist",
            sized_by_n=True,
            stacked_channels=3,
        ),
        DatasetKind("cifar10", "cifar_stl:load_cifar10", images=True),
        DatasetKind("stl10", "cifar_stl:load_stl10", images=True),
        DatasetKind("imagefolder", "imagefolder:load_imagefolder", images=True),
    )
}


def dataset_kind(kind: str) -> DatasetKind:
    from ..core.errors import DatasetError

    if kind not in KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; choose from {', '.join(KINDS)}")
    return KINDS[kind]


def has_evaluator(kind: str) -> bool:
    """Whether runs on this kind get the evaluator classifier's ``clf_*`` metrics (the workflow asks)."""
    return dataset_kind(kind).evaluator_kind is not None


def evaluator_recipe(kind: str) -> str:
    """The recipe of the evaluator of runs on this kind: its evaluator_kind's (Stacked MNIST: MNIST's)."""
    evaluator_kind = dataset_kind(kind).evaluator_kind
    if evaluator_kind is None:
        raise ValueError(f"dataset kind {kind!r} has no evaluator classifier")
    return dataset_kind(evaluator_kind).evaluator_recipe


def holds_images(kind: str) -> bool:
    return dataset_kind(kind).images


def dataset_size(dataset: dict) -> int | None:
    """Samples of a (completed) dataset spec when the config alone says it, else None (read from files)."""
    kind = dataset_kind(dataset["kind"])
    if kind.fixed_size is not None:
        return kind.fixed_size
    return int(dataset["n"]) if kind.sized_by_n else None
