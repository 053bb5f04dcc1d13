"""Bad input through the CLI: a one-line error naming the file or key, exit status 2.

The CLI runs in-process (same status and stderr as the console script); one test runs the real
console script, so the process's own exit status is checked too.
"""

from __future__ import annotations

import numpy as np
from conftest import relabelgan, relabelgan_process, tiny_config

from relabelgan.artifacts import LabelRound, write_labels


def test_missing_dataset_path_is_named(run_spec_file, tmp_path):
    cfg = tiny_config()
    cfg["datasets"]["cifar"] = {"kind": "cifar10", "path": str(tmp_path / "nowhere")}
    cfg["runs"]["cifar-uncond"] = {"dataset": "cifar", "method": "uncond"}
    spec = run_spec_file(cfg, "cifar-uncond")
    proc = relabelgan("init", "--spec", str(spec), "--out", str(tmp_path / "m.pt"), check=False)
    assert proc.returncode == 2
    assert str(tmp_path / "nowhere") in proc.stderr
    assert "never downloaded" in proc.stderr
    assert not (tmp_path / "m.pt").exists()


def test_labels_of_another_dataset_size_are_refused(run_spec_file, tmp_path):
    spec = run_spec_file(tiny_config(), "grid-selfcond")
    model = tmp_path / "round_00" / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    bad = tmp_path / "round_00" / "labels.h5"
    write_labels(bad, LabelRound(np.zeros(999, int), np.full(9, -1), np.zeros((9, 0)), np.arange(999)))
    out = tmp_path / "round_01" / "model.pt"
    proc = relabelgan(
        "train", "--spec", str(spec), "--round", "1", "--model-in", str(model), "--labels", str(bad),
        "--out", str(out), "--log", str(tmp_path / "log.csv"), "--samples", str(tmp_path / "s.png"), check=False,
    )
    assert proc.returncode == 2
    assert f"{bad}: holds 999 labels but the dataset has 1000 samples" in proc.stderr
    assert not out.exists()


def test_truncated_checkpoint_is_refused_by_extract(run_spec_file, tmp_path):
    spec = run_spec_file(tiny_config(), "grid-selfcond")
    model = tmp_path / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    model.write_bytes(model.read_bytes()[:500])
    proc = relabelgan("extract", "--spec", str(spec), "--round", "0", "--model", str(model), "--out", str(tmp_path / "f.h5"), check=False)
    assert proc.returncode == 2
    assert f"{model}: cannot load checkpoint" in proc.stderr
    assert not (tmp_path / "f.h5").exists()


def test_missing_spec_is_named(tmp_path):
    proc = relabelgan_process("init", "--spec", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "m.pt"), check=False)
    assert proc.returncode == 2
    assert "run.yaml: run spec not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one line, no traceback
