"""`relabelgan assign`: new data labelled the way a trained round labels its training set.

On the shared end-to-end run: on the training set itself the labels equal the round's labels.h5
(selfcond: nearest centroid of D's features; slcgan: argmax C); inputs of the wrong shape, or a
method whose labels carry nothing, are refused with one line and exit status 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import relabelgan

from relabelgan.core.artifacts import read_labels
from relabelgan.data import load_dataset


def _round(tiny_run, run: str, r: int = 2):
    d = tiny_run / "results" / run / "seed0" / f"round_{r:02d}"
    return str(d / "model.pt"), str(d / "labels.h5")


@pytest.mark.e2e
@pytest.mark.parametrize("run", ["grid-selfcond", "grid-slcgan"])
def test_assign_reproduces_the_rounds_labels_on_the_training_set(tiny_run, tmp_path, run):
    model, labels = _round(tiny_run, run)
    out = tmp_path / "assign.csv"
    relabelgan("assign", "--model", model, "--labels", labels, "train", "--out", str(out))
    got = pd.read_csv(out)
    expected = read_labels(labels)
    assert got["item"].iloc[0] == "train:0" and len(got) == len(expected.labels)
    np.testing.assert_array_equal(got["label"].to_numpy()[expected.sample_index], expected.labels)


@pytest.mark.e2e
def test_assign_reads_arrays_and_refuses_what_does_not_fit(tiny_run, tmp_path):
    model, labels = _round(tiny_run, "grid-selfcond")
    points = load_dataset({"kind": "grid", "n": 1000, "side": 3, "spacing": 2.0, "std": 0.05}).x.numpy()
    np.save(tmp_path / "points.npy", points[:50])
    relabelgan(
        "assign", "--model", model, "--labels", labels, str(tmp_path / "points.npy"), "--out", str(tmp_path / "a.csv")
    )
    got = pd.read_csv(tmp_path / "a.csv")
    np.testing.assert_array_equal(got["label"], read_labels(labels).labels[:50])
    assert got["item"].iloc[3].endswith("points.npy:3") and (got["distance"] >= 0).all()

    np.save(tmp_path / "wide.npy", np.zeros((4, 3), np.float32))
    bad = relabelgan(
        "assign",
        "--model",
        model,
        "--labels",
        labels,
        str(tmp_path / "wide.npy"),
        "--out",
        str(tmp_path / "b.csv"),
        check=False,
    )
    assert bad.returncode == 2 and "wide.npy: inputs of shape (3,), but the model takes (2,)" in bad.stderr
    assert not (tmp_path / "b.csv").exists()
    uncond, _ = _round(tiny_run, "grid-uncond")
    bad = relabelgan("assign", "--model", uncond, "train", "--out", str(tmp_path / "c.csv"), check=False)
    assert bad.returncode == 2 and "nothing to assign" in bad.stderr
