"""Shared fixtures: a tiny config and a helper that runs the real `snakemake` CLI on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tiny_config(**run_overrides) -> dict:
    """A config small enough for CI: two short phases on a 2D grid and on digits."""
    return {
        "results": "results",
        "seeds": [0],
        "datasets": {
            "grid": {"kind": "grid", "n": 1000, "side": 3, "spacing": 2.0, "std": 0.05},
            "digits": {"kind": "digits"},
        },
        "defaults": {
            "rounds": 2,
            "iters_per_phase": 20,
            "batch_size": 32,
            "log_every": 10,
            "snapshot_every": 10,
            "eval_samples": 1000,
            "kmeans": {"n_init": 2, "subset": 500},
            "device": "cpu",
        },
        "runs": {
            "grid-selfcond": {"dataset": "grid", "method": "selfcond", "k": 9, **run_overrides},
            "grid-uncond": {"dataset": "grid", "method": "uncond"},
        },
    }


def write_config(workdir: Path, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the real snakemake CLI on this repo's Snakefile inside ``workdir``."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(workdir / "config.yaml"),
        "--cores", "2",
        *args,
    ]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def relabelgan(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real relabelgan CLI."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(BIN / "relabelgan"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"relabelgan {args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def tiny_workdir(tmp_path: Path) -> Path:
    """A work folder holding the tiny config."""
    write_config(tmp_path, tiny_config())
    return tmp_path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny config run once, end to end, through the real snakemake CLI; shared read-only by tests."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    write_config(workdir, tiny_config())
    snakemake(workdir)
    return workdir


@pytest.fixture
def run_spec_file(tmp_path: Path):
    """Factory: resolve one run of a config into a run.yaml and return its path."""

    def make(config: dict, run: str, seed: int = 0) -> Path:
        cfg_path = write_config(tmp_path / "cfg", config)
        out = tmp_path / "cfg" / f"{run}.yaml"
        relabelgan("resolve", "--config", str(cfg_path), "--run", run, "--seed", str(seed), "--out", str(out))
        return out

    return make


__all__ = ["REPO", "tiny_config", "write_config", "snakemake", "relabelgan", "shutil"]
