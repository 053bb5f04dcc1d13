"""Same seed on CPU => same networks, same features, same labels, same trained weights."""

from __future__ import annotations

import numpy as np
import torch
from conftest import relabelgan, tiny_config

from relabelgan.core.artifacts import read_features, read_labels
from relabelgan.training.checkpoint import load_checkpoint


def _round(spec, d):
    d.mkdir(parents=True, exist_ok=True)
    relabelgan("init", "--spec", str(spec), "--out", str(d / "m0.pt"))
    relabelgan("extract", "--spec", str(spec), "--round", "0", "--model", str(d / "m0.pt"), "--out", str(d / "f0.h5"))
    relabelgan(
        "relabel", "--spec", str(spec), "--round", "0", "--features", str(d / "f0.h5"), "--out", str(d / "l0.h5")
    )
    relabelgan(
        "train",
        "--spec",
        str(spec),
        "--round",
        "1",
        "--model-in",
        str(d / "m0.pt"),
        "--labels",
        str(d / "l0.h5"),
        "--out",
        str(d / "m1.pt"),
        "--log",
        str(d / "log.csv"),
        "--samples",
        str(d / "s.png"),
    )
    relabelgan("extract", "--spec", str(spec), "--round", "1", "--model", str(d / "m1.pt"), "--out", str(d / "f1.h5"))
    relabelgan(
        "relabel",
        "--spec",
        str(spec),
        "--round",
        "1",
        "--features",
        str(d / "f1.h5"),
        "--previous",
        str(d / "l0.h5"),
        "--out",
        str(d / "l1.h5"),
    )


def test_same_seed_same_everything(run_spec_file, tmp_path):
    spec = run_spec_file(tiny_config(), "grid-selfcond")
    _round(spec, tmp_path / "a")
    _round(spec, tmp_path / "b")
    for name in ("l0.h5", "l1.h5"):
        np.testing.assert_array_equal(
            read_labels(tmp_path / "a" / name).labels, read_labels(tmp_path / "b" / name).labels
        )
    np.testing.assert_array_equal(
        read_features(tmp_path / "a" / "f1.h5")[0], read_features(tmp_path / "b" / "f1.h5")[0]
    )
    wa, wb = load_checkpoint(tmp_path / "a" / "m1.pt"), load_checkpoint(tmp_path / "b" / "m1.pt")
    for net in ("G", "D"):
        for key, value in wa["networks"][net].items():
            assert torch.equal(value, wb["networks"][net][key]), f"{net}.{key} differs"
    # The labels record where they came from.
    attrs = read_labels(tmp_path / "a" / "l1.h5").attrs
    assert str(tmp_path / "a" / "f1.h5") in attrs["source_features"]
    assert str(tmp_path / "a" / "l0.h5") in attrs["source_labels"]


def test_another_seed_gives_other_labels(run_spec_file, tmp_path):
    cfg = tiny_config()
    s0 = run_spec_file(cfg, "grid-selfcond", seed=0)
    (tmp_path / "s0").mkdir()
    relabelgan("init", "--spec", str(s0), "--out", str(tmp_path / "s0" / "m.pt"))
    s1 = tmp_path / "cfg" / "s1.yaml"
    relabelgan(
        "resolve",
        "--config",
        str(tmp_path / "cfg" / "config.yaml"),
        "--run",
        "grid-selfcond",
        "--seed",
        "1",
        "--out",
        str(s1),
    )
    relabelgan("init", "--spec", str(s1), "--out", str(tmp_path / "m1.pt"))
    a = load_checkpoint(tmp_path / "s0" / "m.pt")["networks"]["D"]
    b = load_checkpoint(tmp_path / "m1.pt")["networks"]["D"]
    assert any(not torch.equal(a[k], b[k]) for k in a)
