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


def _refused(model: str, labels: str, source, tmp_path) -> str:
    out = tmp_path / "refused.csv"
    proc = relabelgan("assign", "--model", model, "--labels", labels, str(source), "--out", str(out), check=False)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists(), proc.stderr
    return proc.stderr


@pytest.mark.e2e
def test_assign_refuses_hostile_arrays_by_name(tiny_run, tmp_path):
    import h5py

    model, labels = _round(tiny_run, "grid-selfcond")
    np.save(tmp_path / "empty.npy", np.zeros((0, 2), np.float32))
    np.save(tmp_path / "scalar.npy", np.float32(3.0))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    rows = np.zeros((4, 2), np.float32)
    rows[2] = np.nan
    np.save(tmp_path / "nan.npy", rows)
    with h5py.File(tmp_path / "group.h5", "w") as f:
        f.create_group("x")
    (tmp_path / "noise.h5").write_bytes(np.random.default_rng(0).bytes(4096))
    cases = {
        "empty.npy": "holds no rows",
        "scalar.npy": "holds no rows",
        "objects.npy": "not a readable .npy array of numbers",
        "nan.npy": "rows [2] hold NaN or inf",
        "group.h5": "no dataset 'x'",
        "noise.h5": "not a readable HDF5 file",
    }
    for name, message in cases.items():
        err = _refused(model, labels, tmp_path / name, tmp_path)
        assert f"{tmp_path / name}: " in err and message in err, (name, err)


@pytest.fixture(scope="module")
def digits_round0(tmp_path_factory) -> tuple[str, str]:
    """model.pt and labels.h5 of round 0 of a small digits selfcond run (random-init D, k-means labels)."""
    from conftest import tiny_config, write_config

    work = tmp_path_factory.mktemp("digits0")
    config = tiny_config()
    config["datasets"]["digits"] = {"kind": "digits"}
    config["runs"] = {"d": {"dataset": "digits", "method": "selfcond", "k": 4, "width": 4, "z_dim": 4, "embed_dim": 2}}
    cfg = write_config(work, config)
    spec, model, features = work / "run.yaml", work / "model.pt", work / "features.h5"
    relabelgan("resolve", "--config", str(cfg), "--run", "d", "--seed", "0", "--out", str(spec))
    relabelgan(
        "init", "--spec", str(spec), "--out", str(model), "--features", str(features), "--metrics", str(work / "m.csv")
    )
    relabelgan("relabel", "--spec", str(spec), "--round", "0", "--features", str(features), "--out", str(work / "l.h5"))
    return str(model), str(work / "l.h5")


@pytest.mark.e2e
def test_assign_refuses_unscaled_or_broken_images_and_skips_hidden_files(digits_round0, tmp_path):
    from PIL import Image

    model, labels = digits_round0
    np.save(tmp_path / "pixels.npy", np.full((3, 1, 8, 8), 200.0, np.float32))
    err = _refused(model, labels, tmp_path / "pixels.npy", tmp_path)
    assert "float32 values up to 200, but the model takes images scaled to [-1, 1]" in err
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("L", (8, 8), 128).save(folder / "ok.png")
    (folder / "._ok.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    relabelgan("assign", "--model", model, "--labels", labels, str(folder), "--out", str(tmp_path / "a.csv"))
    assert pd.read_csv(tmp_path / "a.csv")["item"].tolist() == [str(folder / "ok.png")]
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert f"{folder / 'bad.png'}: not a readable image" in _refused(model, labels, folder, tmp_path)


@pytest.mark.e2e
def test_assign_refuses_a_resume_snapshot_with_one_line(digits_round0, tmp_path):
    from relabelgan.training.checkpoint import load_checkpoint, save_checkpoint

    model, labels = digits_round0
    state = load_checkpoint(model)
    state.pop("provenance", None)
    save_checkpoint(tmp_path / "resume.pt", state)
    err = _refused(str(tmp_path / "resume.pt"), labels, "train", tmp_path)
    assert "resume snapshot or an unfinished checkpoint" in err
