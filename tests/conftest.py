"""Shared fixtures: a tiny config, the `relabelgan` CLI run in this process (or as a real process
where the process boundary is what a test is about), the real `snakemake` CLI, and one shared
end-to-end run.

Markers (registered in pyproject.toml): ``e2e`` for tests that run the workflow or a script end to end
through real processes (any test using the ``tiny_run`` fixture gets it automatically), ``slurm`` for
the local SLURM cluster, ``cuda`` for tests that need a GPU. ``make test-fast`` skips e2e and slurm.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Processes this session started (by program) and the jobs snakemake ran in them; printed at the end,
# so the cost of a change to the suite can be counted rather than guessed.
PROCESS_STARTS: Counter[str] = Counter()


def tiny_config(**run_overrides) -> dict:
    """The CI-sized config of .test/config.yaml (two short phases on a 3x3 grid); overrides go to grid-selfcond."""
    config = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    config["runs"]["grid-selfcond"].update(run_overrides)
    return config


def write_config(workdir: Path, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(
    workdir: Path,
    *args: str,
    check: bool = True,
    timeout: int = 900,
    env: dict[str, str] | None = None,
    slurm: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real snakemake CLI on this repo's Snakefile inside ``workdir`` (``env``: extra variables).

    ``slurm=False`` (a local run) hides SLURM's client configuration, as `make run` does (Makefile,
    LOCAL_RUN): the SLURM plugin's import-time `scontrol show config` would wait ~9 s per start here.
    """
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMP_NUM_THREADS": "1",
        **({} if slurm else {"SLURM_CONF": "/dev/null"}),
        **(env or {}),
    }
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        *args,
    ]
    PROCESS_STARTS["snakemake"] += 1
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    steps = re.findall(r"^(\d+) of \d+ steps", proc.stdout + proc.stderr, re.M)
    PROCESS_STARTS["snakemake jobs"] += int(steps[-1]) if steps else 0
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def relabelgan(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``relabelgan ARGS`` in this process through ``relabelgan.cli.main``.

    Same exit status, stdout and stderr as the console script (``sys.exit(main())``: a
    ``SystemExit`` message goes to stderr with status 1, an uncaught exception prints its traceback
    with status 1), without a Python + torch start per call. torch runs on one thread, as the
    workflow's jobs do. Use :func:`relabelgan_process` where the process itself is under test.
    """
    from relabelgan.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _one_torch_thread(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse errors, `raise SystemExit("message")`, SIGTERM's status
            code = _exit_status(e)
        except Exception:
            traceback.print_exc()
            code = 1
    proc = subprocess.CompletedProcess(["relabelgan", *args], code, out.getvalue(), err.getvalue())
    if check and proc.returncode != 0:
        raise AssertionError(f"relabelgan {args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _exit_status(e: SystemExit) -> int:
    """The status the interpreter would exit with for ``e`` (printing a message code to stderr)."""
    if e.code is None or isinstance(e.code, int):
        return e.code or 0
    print(e.code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def relabelgan_process(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real ``relabelgan`` console script as a process (for tests of the process boundary)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    PROCESS_STARTS["relabelgan"] += 1
    proc = subprocess.run([str(BIN / "relabelgan"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"relabelgan {args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def tiny_workdir(tmp_path: Path) -> Path:
    """A work folder holding the tiny config."""
    write_config(tmp_path, tiny_config())
    return tmp_path


# The shared end-to-end run's config (.test/config-methods.yaml): the tiny config plus one slcgan and
# one splitting run, which the slcgan and splitting tests read (and start their own configs from).
METHODS_CONFIG = REPO / ".test" / "config-methods.yaml"
SLCGAN_RUN = yaml.safe_load(METHODS_CONFIG.read_text())["runs"]["grid-slcgan"]
SPLIT_RUN = yaml.safe_load(METHODS_CONFIG.read_text())["runs"]["grid-split"]


def e2e_config() -> dict:
    """The shared end-to-end run's config: the tiny config plus one slcgan and one splitting run."""
    return yaml.safe_load(METHODS_CONFIG.read_text())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """:func:`e2e_config` run once, end to end, through the real snakemake CLI; shared read-only by the
    workflow, report, audit, slcgan and splitting tests (a test that changes it works on a copy)."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    write_config(workdir, e2e_config())
    snakemake(workdir)
    return workdir


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the shared end-to-end run is an end-to-end test (`make test-fast` skips it)."""
    for item in items:
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter) -> None:
    if PROCESS_STARTS:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(PROCESS_STARTS.items()))
        terminalreporter.write_line(f"processes started through conftest helpers: {counts}")


@pytest.fixture
def run_spec_file(tmp_path: Path):
    """Factory: resolve one run of a config into a run.yaml and return its path."""

    def make(config: dict, run: str, seed: int = 0) -> Path:
        cfg_path = write_config(tmp_path / "cfg", config)
        out = tmp_path / "cfg" / f"{run}.yaml"
        relabelgan("resolve", "--config", str(cfg_path), "--run", run, "--seed", str(seed), "--out", str(out))
        return out

    return make


def resumed_phase(spec: dict, model: str, labels: str, work: Path) -> tuple[dict, dict, dict]:
    """Phase 1 of ``spec`` three ways: uninterrupted, stopped half way (saved as the resume.pt a SIGTERM
    would leave) and resumed from that snapshot; returns (full, snapshot, resumed) checkpoints."""
    from relabelgan.training.checkpoint import load_checkpoint, save_checkpoint
    from relabelgan.training.loop import phase_inputs, train_phase

    def train(s: dict, out: Path) -> dict:
        train_phase(s, 1, model, labels, str(out / "model.pt"), str(out / "log.csv"), str(out / "s.png"))
        return load_checkpoint(out / "model.pt")

    half = spec["iters_per_phase"] // 2
    full = train(spec, work / "full")
    snap = train({**spec, "iters_per_phase": half}, work / "half")
    snap.update({"phase_iter": half, "log": [], "inputs": phase_inputs(spec, model, labels)})
    save_checkpoint(work / "resumed" / "resume.pt", snap)
    return full, snap, train(spec, work / "resumed")


__all__ = [
    "REPO",
    "SLCGAN_RUN",
    "SPLIT_RUN",
    "e2e_config",
    "tiny_config",
    "write_config",
    "snakemake",
    "relabelgan",
    "relabelgan_process",
    "resumed_phase",
    "shutil",
]
