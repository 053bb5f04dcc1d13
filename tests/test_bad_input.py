"""Bad input through the CLI: a one-line error naming the file or key, exit status 2.

The CLI runs in-process (same status and stderr as the console script); one test runs the real
console script, so the process's own exit status is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import relabelgan, relabelgan_process, tiny_config

from relabelgan.core.artifacts import LabelRound, write_labels


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
        "train",
        "--spec",
        str(spec),
        "--round",
        "1",
        "--model-in",
        str(model),
        "--labels",
        str(bad),
        "--out",
        str(out),
        "--log",
        str(tmp_path / "log.csv"),
        "--samples",
        str(tmp_path / "s.png"),
        check=False,
    )
    assert proc.returncode == 2
    assert f"{bad}: holds 999 labels but the dataset has 1000 samples" in proc.stderr
    assert not out.exists()


def test_truncated_checkpoint_is_refused_by_extract(run_spec_file, tmp_path):
    spec = run_spec_file(tiny_config(), "grid-selfcond")
    model = tmp_path / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    model.write_bytes(model.read_bytes()[:500])
    proc = relabelgan(
        "extract",
        "--spec",
        str(spec),
        "--round",
        "0",
        "--model",
        str(model),
        "--out",
        str(tmp_path / "f.h5"),
        check=False,
    )
    assert proc.returncode == 2
    assert f"{model}: cannot load checkpoint" in proc.stderr
    assert not (tmp_path / "f.h5").exists()


def test_missing_spec_is_named(tmp_path):
    proc = relabelgan_process(
        "init", "--spec", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "m.pt"), check=False
    )
    assert proc.returncode == 2
    assert "run.yaml: run spec not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one line, no traceback


# Every command, given an input that does not exist or does not parse: exit 2, one line naming it.
MISSING = "/nonexistent/relabelgan-input"
BAD_INPUTS = {
    "resolve": (["--spec-json", "{not json", "--out", "{out}/r.yaml"], "--spec-json"),
    "pipeline": (["--config", MISSING + ".yaml", "--run", "r", "--seed", "0", "--results", "{out}"], MISSING),
    "init": (["--spec", MISSING + ".yaml", "--out", "{out}/m.pt"], MISSING),
    "train": (
        [
            "--spec",
            MISSING + ".yaml",
            "--round",
            "1",
            "--model-in",
            "m.pt",
            "--labels",
            "l.h5",
            "--out",
            "{out}/m.pt",
            "--log",
            "{out}/l.csv",
            "--samples",
            "{out}/s.png",
        ],
        MISSING,
    ),
    "relabel": (["--spec", MISSING + ".yaml", "--round", "0", "--features", "f.h5", "--out", "{out}/l.h5"], MISSING),
    "extract": (["--spec", MISSING + ".yaml", "--round", "0", "--model", "m.pt", "--out", "{out}/f.h5"], MISSING),
    "evaluate": (["--spec", MISSING + ".yaml", "--round", "0", "--model", "m.pt", "--out", "{out}/m.csv"], MISSING),
    "evaluate-final": (
        ["--spec", MISSING + ".yaml", "--round", "0", "--model", "m.pt", "--out", "{out}/m.csv"],
        MISSING,
    ),
    "train-evaluator": (
        [
            "--dataset",
            "d",
            "--dataset-json",
            "{}",
            "--settings-json",
            "{}",
            "--out",
            "{out}/e.pt",
            "--report",
            "{out}/e.csv",
        ],
        "--settings-json",
    ),
    "metrics-table": (
        ["--spec", MISSING + ".yaml", "--round", "0", "--record", "r.json", "--out", "{out}/m.csv"],
        MISSING,
    ),
    "generation": (
        [
            "--spec",
            MISSING + ".yaml",
            "--model",
            "m.pt",
            "--labels",
            "l.h5",
            "--features",
            "f.h5",
            "--out-dir",
            "{out}/g",
        ],
        MISSING,
    ),
    "audit": ([MISSING + ".h5"], MISSING),
    "lineage": (["--spec", MISSING + ".yaml", "--model", "m.pt", "--out-dir", "{out}/lin", MISSING + ".h5"], MISSING),
    "tables": (
        [
            "--metrics",
            MISSING + ".csv",
            "--dataset",
            "grid",
            "--out-csv",
            "{out}/t.csv",
            "--out-md",
            "{out}/t.md",
            "--out-png",
            "{out}/t.png",
        ],
        MISSING,
    ),
    "reference-stats": (
        ["--dataset", "d", "--dataset-json", '{"kind": "cifar10", "path": "' + MISSING + '"}', "--out", "{out}/s.npz"],
        MISSING,
    ),
    "gather": (["--out", "{out}/g.csv", MISSING + ".csv"], MISSING),
    "figures": (["--metrics", MISSING + ".csv", "--dataset", "grid", "--out", "{out}/f.png"], MISSING),
    "assign": (["--model", MISSING + ".pt", "--out", "{out}/a.csv", "train"], MISSING),
}


def test_every_command_has_a_bad_input_case():
    from relabelgan.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert commands - {"install-profile"} == set(BAD_INPUTS)  # install-profile takes no input files


@pytest.mark.parametrize("command", sorted(BAD_INPUTS))
def test_a_bad_input_exits_2_with_one_line_naming_it(command, tmp_path, capsys):
    from relabelgan.cli import main

    args, named = BAD_INPUTS[command]
    rc = main([command, *(arg.replace("{out}", str(tmp_path)) for arg in args)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2
    assert len(err) == 1 and named in err[0] and err[0].startswith(f"relabelgan {command}: error:")
    assert not any(tmp_path.iterdir())  # nothing written
