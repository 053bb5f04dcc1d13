"""Faults: a killed or pre-empted phase resumes exactly, damaged artifacts are refused, and
reruns never overwrite earlier rounds.

Phases are killed (SIGKILL, SIGTERM) as real ``relabelgan train`` processes; the runs that are not
themselves killed call the CLI in-process (same code path, no process start), and reruns go through
the real snakemake CLI on a copy of the shared end-to-end run. All on CPU.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import BIN, relabelgan, snakemake, tiny_config, write_config

from relabelgan.core.artifacts import sha256
from relabelgan.training.checkpoint import load_checkpoint

ITERS = 600  # long enough that a poll at half way lands well before the end
SNAPSHOT_EVERY = 20


def fault_config(method: str = "uncond") -> dict:
    config = tiny_config()
    config["defaults"].update(iters_per_phase=ITERS, snapshot_every=SNAPSHOT_EVERY, log_every=50)
    config["runs"] = {"grid": {"dataset": "grid", "method": method, **({"k": 4} if method == "selfcond" else {})}}
    return config


@pytest.fixture(scope="module")
def phase_inputs(tmp_path_factory) -> dict[str, Path]:
    """run.yaml, the round-0 model and round-0 labels of a small uncond run: the inputs of phase 1."""
    d = tmp_path_factory.mktemp("phase")
    cfg = write_config(d, fault_config())
    paths = {"spec": d / "run.yaml", "model": d / "round_00" / "model.pt", "labels": d / "round_00" / "labels.h5"}
    relabelgan("resolve", "--config", str(cfg), "--run", "grid", "--seed", "0", "--out", str(paths["spec"]))
    features, metrics = d / "round_00" / "features.h5", d / "round_00" / "metrics.csv"
    relabelgan(
        "init",
        "--spec",
        str(paths["spec"]),
        "--out",
        str(paths["model"]),
        "--features",
        str(features),
        "--metrics",
        str(metrics),
    )
    relabelgan(
        "relabel",
        "--spec",
        str(paths["spec"]),
        "--round",
        "0",
        "--features",
        str(features),
        "--out",
        str(paths["labels"]),
    )
    return paths


def train_args(inputs: dict[str, Path], out_dir: Path, model_in: Path | None = None, labels: Path | None = None):
    return [
        "train",
        "--spec",
        str(inputs["spec"]),
        "--round",
        "1",
        "--model-in",
        str(model_in or inputs["model"]),
        "--labels",
        str(labels or inputs["labels"]),
        "--out",
        str(out_dir / "model.pt"),
        "--log",
        str(out_dir / "train_log.csv"),
        "--samples",
        str(out_dir / "samples.png"),
    ]


def start_train(inputs: dict[str, Path], out_dir: Path) -> subprocess.Popen:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [str(BIN / "relabelgan"), *train_args(inputs, out_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_snapshot(proc: subprocess.Popen, resume: Path, min_iter: int, timeout: float = 300) -> int:
    """Poll ``resume`` until it holds at least ``min_iter`` iterations; return that count."""
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"training exited ({proc.returncode}) before a snapshot at {min_iter}:\n{proc.stdout.read()}")
        mtime = resume.stat().st_mtime_ns if resume.exists() else None
        if mtime is not None and mtime != seen:
            seen = mtime
            done = int(load_checkpoint(resume)["phase_iter"])
            if done >= min_iter:
                return done
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no snapshot at iteration >= {min_iter} in {resume} within {timeout} s")


def assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = load_checkpoint(a)["networks"], load_checkpoint(b)["networks"]
    assert sa.keys() == sb.keys()
    for net in sa:
        assert sa[net].keys() == sb[net].keys()
        for name in sa[net]:
            assert torch.equal(sa[net][name], sb[net][name]), f"{net}.{name} differs between {a} and {b}"
    assert load_checkpoint(a)["iteration"] == load_checkpoint(b)["iteration"]


def assert_same_log(a: Path, b: Path) -> None:
    la, lb = pd.read_csv(a), pd.read_csv(b)
    cols = [c for c in la.columns if c != "seconds"]  # wall-clock time is the one column allowed to differ
    pd.testing.assert_frame_equal(la[cols], lb[cols])


@pytest.fixture(scope="module")
def reference(phase_inputs, tmp_path_factory) -> Path:
    """Phase 1 run without interruption."""
    out = tmp_path_factory.mktemp("reference")
    relabelgan(*train_args(phase_inputs, out))
    assert not (out / "resume.pt").exists(), "a finished phase must remove its resume snapshot"
    return out


@pytest.mark.e2e  # whole 600-step phases in real processes (a minute or more on 2 cores)
def test_kill9_half_way_then_rerun_resumes_to_the_same_weights(phase_inputs, reference, tmp_path):
    inputs_before = {k: sha256(p) for k, p in phase_inputs.items()}
    proc = start_train(phase_inputs, tmp_path)
    done = wait_for_snapshot(proc, tmp_path / "resume.pt", ITERS // 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "model.pt").exists(), "the phase finished before it could be killed; raise ITERS"

    rerun = relabelgan(*train_args(phase_inputs, tmp_path))
    resumed = re.search(r"resuming phase 1 from \S+resume\.pt at iteration (\d+)", rerun.stdout + rerun.stderr)
    assert resumed, rerun.stdout + rerun.stderr
    assert ITERS // 2 <= int(resumed.group(1)) < ITERS and int(resumed.group(1)) >= done
    assert_same_weights(tmp_path / "model.pt", reference / "model.pt")
    assert_same_log(tmp_path / "train_log.csv", reference / "train_log.csv")
    assert not (tmp_path / "resume.pt").exists()
    # The inputs (round 0) were only read.
    assert {k: sha256(p) for k, p in phase_inputs.items()} == inputs_before


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])  # pre-emption; Ctrl-C
def test_sigterm_writes_snapshot_and_exits_nonzero_within_30s(phase_inputs, reference, tmp_path, sig):
    proc = start_train(phase_inputs, tmp_path)
    seen = wait_for_snapshot(proc, tmp_path / "resume.pt", SNAPSHOT_EVERY)
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("training did not exit within 30 s of SIGTERM")
    assert proc.returncode != 0, out
    assert f"{sig.name}: snapshot written" in out, out
    snap = load_checkpoint(tmp_path / "resume.pt")
    assert seen <= int(snap["phase_iter"]) < ITERS
    assert not (tmp_path / "model.pt").exists()

    # The resubmitted job continues from the snapshot to the same result.
    relabelgan(*train_args(phase_inputs, tmp_path))
    assert_same_weights(tmp_path / "model.pt", reference / "model.pt")


@pytest.mark.e2e
def test_a_phase_whose_launcher_is_killed_stops_with_a_snapshot(phase_inputs, reference, tmp_path):
    """Snakemake killed with SIGKILL leaves its job's shell and the phase behind; the phase notices its
    launcher is gone, writes its snapshot and exits 143 instead of training on as an orphan."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    command = " ".join(shlex.quote(a) for a in [str(BIN / "relabelgan"), *train_args(phase_inputs, tmp_path)])
    # A stand-in for Snakemake: a Python process running the job through `bash -c`, as Snakemake does.
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; subprocess.run(['bash', '-c', sys.argv[1]])",
            f"set -euo pipefail; {command} > {tmp_path / 'train.log'} 2>&1; echo done > {tmp_path / 'exit'}",
        ],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    wait_for_snapshot(launcher, tmp_path / "resume.pt", SNAPSHOT_EVERY)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 60
    while not (tmp_path / "exit").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = (tmp_path / "train.log").read_text()
    assert "gone: snapshot written" in log, log[-2000:]
    assert not (tmp_path / "model.pt").exists(), "the phase finished before it noticed; raise ITERS"
    assert int(load_checkpoint(tmp_path / "resume.pt")["phase_iter"]) < ITERS
    relabelgan(*train_args(phase_inputs, tmp_path))  # the rerun resumes to the uninterrupted result
    assert_same_weights(tmp_path / "model.pt", reference / "model.pt")


def truncated_copy(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@pytest.mark.parametrize("damaged", ["model", "labels", pytest.param("resume", marks=pytest.mark.e2e)])
def test_truncated_checkpoint_or_hdf5_is_refused_naming_the_file(phase_inputs, tmp_path, damaged):
    out = tmp_path / "out"
    out.mkdir()
    model_in = labels = None
    if damaged == "model":
        model_in = bad = truncated_copy(phase_inputs["model"], tmp_path / "model.pt")
    elif damaged == "labels":
        labels = bad = truncated_copy(phase_inputs["labels"], tmp_path / "labels.h5")
    else:
        # A damaged in-phase snapshot (e.g. from a full disk) is named too, not silently trained over.
        proc = start_train(phase_inputs, out)
        wait_for_snapshot(proc, out / "resume.pt", SNAPSHOT_EVERY)
        proc.kill()
        proc.wait()
        bad = out / "resume.pt"
        truncated_copy(bad, bad)
    proc = relabelgan(*train_args(phase_inputs, out, model_in, labels), check=False)
    assert proc.returncode != 0
    assert str(bad) in proc.stderr, proc.stderr
    assert not (out / "model.pt").exists()


def test_truncated_features_are_refused_by_relabel(tmp_path):
    cfg = write_config(tmp_path, fault_config("selfcond"))
    spec, model, features = tmp_path / "run.yaml", tmp_path / "model.pt", tmp_path / "features.h5"
    relabelgan("resolve", "--config", str(cfg), "--run", "grid", "--seed", "0", "--out", str(spec))
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    relabelgan("extract", "--spec", str(spec), "--round", "0", "--model", str(model), "--out", str(features))
    truncated_copy(features, features)
    proc = relabelgan(
        "relabel",
        "--spec",
        str(spec),
        "--round",
        "0",
        "--features",
        str(features),
        "--out",
        str(tmp_path / "labels.h5"),
        check=False,
    )
    assert proc.returncode != 0
    assert str(features) in proc.stderr, proc.stderr
    assert not (tmp_path / "labels.h5").exists()


def snapshot_files(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (sha256(p), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.e2e
def test_rerunning_a_phase_never_touches_earlier_rounds(tiny_run, tmp_path):
    shutil.copytree(tiny_run, tmp_path, dirs_exist_ok=True)  # keeps mtimes and .snakemake's records
    run = tmp_path / "results" / "grid-selfcond" / "seed0"
    earlier = {r: snapshot_files(run / f"round_{r:02d}") for r in (0, 1)}
    last_model = run / "round_02" / "model.pt"
    before = last_model.stat().st_mtime_ns

    # Retrain the last phase, then let the workflow rebuild what depends on it.
    snakemake(tmp_path, "--force", str(last_model.relative_to(tmp_path)))
    assert last_model.stat().st_mtime_ns != before
    snakemake(tmp_path)
    assert {r: snapshot_files(run / f"round_{r:02d}") for r in (0, 1)} == earlier
    # And a plain rerun of a finished workflow writes nothing at all.
    everything = snapshot_files(run)
    snakemake(tmp_path)
    assert snapshot_files(run) == everything
