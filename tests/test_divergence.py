"""Diverged training is caught: a phase whose losses blow up stops with one line (run, phase,
iteration, the last healthy losses, what to change), exit status 2, and leaves no model.pt and no
resume snapshot; a model with NaN weights and features with NaN rows are refused by name; a resume
snapshot made under other settings is not resumed. Real training of the tiny grid config, on CPU.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import relabelgan, tiny_config, write_config

from relabelgan.core.config import read_spec
from relabelgan.training.checkpoint import load_checkpoint, save_checkpoint
from relabelgan.training.loop import phase_inputs


def _phase_inputs(work: Path, **run) -> dict[str, Path]:
    """run.yaml, round-0 model and labels of the tiny grid-selfcond run with ``run``'s overrides."""
    config = tiny_config(iters_per_phase=60, log_every=5, snapshot_every=10, **run)
    cfg = write_config(work, config)
    paths = {"spec": work / "run.yaml", "model": work / "r0" / "model.pt", "labels": work / "r0" / "labels.h5"}
    paths["features"] = work / "r0" / "features.h5"
    relabelgan("resolve", "--config", str(cfg), "--run", "grid-selfcond", "--seed", "0", "--out", str(paths["spec"]))
    relabelgan(
        "init", "--spec", str(paths["spec"]), "--out", str(paths["model"]), "--features", str(paths["features"]),
        "--metrics", str(work / "r0" / "metrics.csv"),
    )  # fmt: skip
    relabelgan(
        "relabel", "--spec", str(paths["spec"]), "--round", "0", "--features", str(paths["features"]),
        "--out", str(paths["labels"]),
    )  # fmt: skip
    return paths


def _train(paths: dict[str, Path], out: Path, check: bool = True):
    return relabelgan(
        "train", "--spec", str(paths["spec"]), "--round", "1", "--model-in", str(paths["model"]),
        "--labels", str(paths["labels"]), "--out", str(out / "model.pt"), "--log", str(out / "log.csv"),
        "--samples", str(out / "samples.png"), check=check,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lr", "what"),
    [(1e30, ("nan", "inf")), (1e3, ("e+",))],
    ids=["nan", "huge"],
)
def test_a_diverging_phase_stops_with_one_line_and_writes_nothing(tmp_path, lr, what):
    paths = _phase_inputs(tmp_path, lr_d=lr, lr_g=lr)
    out = tmp_path / "r1"
    proc = _train(paths, out, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "run 'grid-selfcond' seed 0 phase 1 diverged: at iteration" in lines[0]
    assert any(word in lines[0] for word in what), lines[0]
    assert "lower lr_d / lr_g" in lines[0]
    assert not (out / "model.pt").exists() and not (out / "resume.pt").exists()


def test_a_healthy_phase_is_not_stopped(tmp_path):
    paths = _phase_inputs(tmp_path)
    _train(paths, tmp_path / "r1")
    assert (tmp_path / "r1" / "model.pt").exists()


def test_a_model_with_nan_weights_is_refused_by_extract_and_evaluate(tmp_path):
    paths = _phase_inputs(tmp_path)
    state = load_checkpoint(paths["model"])
    weight = next(k for k, v in state["networks"]["D"].items() if v.is_floating_point())
    state["networks"]["D"][weight] = torch.full_like(state["networks"]["D"][weight], float("nan"))
    bad = tmp_path / "nan.pt"
    save_checkpoint(bad, state)
    for command in (
        ["extract", "--spec", str(paths["spec"]), "--round", "0", "--model", str(bad), "--out", str(tmp_path / "f.h5")],
        [
            "evaluate",
            "--spec",
            str(paths["spec"]),
            "--round",
            "0",
            "--model",
            str(bad),
            "--out",
            str(tmp_path / "m.csv"),
        ],
    ):
        proc = relabelgan(*command, check=False)
        assert proc.returncode == 2, proc.stderr
        assert f"{bad}: weights D.{weight} are not finite" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_features_with_nan_rows_are_refused_by_relabel(tmp_path):
    paths = _phase_inputs(tmp_path)
    with h5py.File(paths["features"], "r+") as f:
        features = f["features"][...]
        features[3] = np.nan
        f["features"][...] = features
    proc = relabelgan(
        "relabel", "--spec", str(paths["spec"]), "--round", "0", "--features", str(paths["features"]),
        "--out", str(tmp_path / "l.h5"), check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"{paths['features']}: 1 of {len(features)} rows hold NaN or inf features" in proc.stderr
    assert not (tmp_path / "l.h5").exists()


def test_a_snapshot_made_under_other_settings_is_not_resumed(tmp_path):
    paths = _phase_inputs(tmp_path)
    out = tmp_path / "r1"
    _train(paths, out)
    state = load_checkpoint(out / "model.pt")
    # The snapshot a phase killed half way would leave, but made before lr_g was changed.
    old_spec = {**read_spec(paths["spec"]), "lr_g": 0.5}
    inputs = phase_inputs(old_spec, str(paths["model"]), str(paths["labels"]))
    save_checkpoint(out / "resume.pt", {**state, "phase_iter": 30, "inputs": inputs, "log": []})
    (out / "model.pt").unlink()
    proc = _train(paths, out)
    assert "ignoring" in proc.stdout and "other inputs or settings" in proc.stdout
    assert "resuming" not in proc.stdout
