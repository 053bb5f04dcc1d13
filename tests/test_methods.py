"""Every registered method, through the hooks the steps call: init, round 0's labels, one phase, the
next round's labels. A method added to methods/ is exercised here without a test of its own."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from relabelgan.core.artifacts import read_labels
from relabelgan.core.config import resolve_config, run_spec
from relabelgan.data import load_dataset
from relabelgan.initialise import init_round
from relabelgan.methods import METHODS, get_method
from relabelgan.relabel import relabel
from relabelgan.training.checkpoint import load_checkpoint
from relabelgan.training.loop import train_phase
from relabelgan.training.round_outputs import RoundOutputs

RUN_KEYS = {
    "splitting": {
        "arch": "resnet_small",
        "schedule": "unsupervised",
        "split_rounds": [1],
        "split_threshold": 10,
        "d_steps": 2,
    },
    "slcgan": {"slcgan": {"c_norm": "batch"}},
}


def _spec(method: str) -> dict:
    config = tiny_config()
    config["runs"] = {
        "run": {
            "dataset": "digits",
            "method": method,
            "k": 4,
            "iters_per_phase": 3,
            "batch_size": 16,
            "width": 8,
            "z_dim": 8,
            "eval_samples": 200,
            "msssim_pairs": 5,
            **RUN_KEYS.get(method, {}),
        }
    }
    return run_spec(resolve_config(config), "run", 0)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_method_runs_round_0_a_phase_and_the_next_labels(name, tmp_path):
    spec, method = _spec(name), get_method(name)
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    p = {
        f"{stem}{r}": str(tmp_path / f"{stem}{r}")
        for stem in ("model", "features", "metrics", "labels")
        for r in (0, 1)
    }

    init_round(spec, p["model0"], RoundOutputs(p["features0"], p["metrics0"]))
    labels0 = relabel(spec, 0, p["labels0"], p["features0"])
    k0 = method.n_classes(spec, data.n_classes)
    assert labels0.k == k0 == load_checkpoint(p["model0"])["arch"]["n_classes"]
    assert len(labels0.labels) == len(data)
    if method.label_source(spec, 0) == "dataset" and k0 == data.n_classes:
        assert np.array_equal(labels0.labels, data.y.numpy())  # ground truth, as the method starts from it

    train_phase(
        spec,
        1,
        p["model0"],
        p["labels0"],
        p["model1"],
        str(tmp_path / "log.csv"),
        str(tmp_path / "s.png"),
        RoundOutputs(p["features1"], p["metrics1"]),
    )
    assert load_checkpoint(p["model1"])["iteration"] == 3
    if method.labels_round(1) == 0:  # fixed labels: round 0's hold, no labels file of round 1
        assert method.label_source(spec, 1) == "previous"
        return
    labels1 = relabel(spec, 1, p["labels1"], p["features1"], p["labels0"])
    assert read_labels(p["labels1"]).k == labels1.k >= labels0.k
    assert np.isin(labels1.parent, np.arange(-1, labels0.k)).all()


def test_pixelkmeans_clusters_the_data_itself(tmp_path):
    """Its features are the pixels: its clusters are k-means of the digits, and later rounds refit k-means on the
    same points (another seeded subset), so they keep nearly every sample where it was."""
    from relabelgan.core.artifacts import read_features

    spec = _spec("pixelkmeans")
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    m0, f0, f1 = (str(tmp_path / n) for n in ("m0.pt", "f0.h5", "f1.h5"))
    init_round(spec, m0, RoundOutputs(f0, str(tmp_path / "x0.csv")))
    feats, _, attrs = read_features(f0)
    assert attrs["layer"] == "data" and np.array_equal(feats, data.x.flatten(1).numpy())
    labels0 = relabel(spec, 0, str(tmp_path / "l0.h5"), f0)
    train_phase(
        spec,
        1,
        m0,
        str(tmp_path / "l0.h5"),
        str(tmp_path / "m1.pt"),
        str(tmp_path / "log.csv"),
        str(tmp_path / "s.png"),
        RoundOutputs(f1, str(tmp_path / "x1.csv")),
    )
    labels1 = relabel(spec, 1, str(tmp_path / "l1.h5"), f1, str(tmp_path / "l0.h5"))
    assert (labels1.labels == labels0.labels).mean() > 0.8
