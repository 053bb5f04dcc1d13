"""scripts/gpu_check.sh without a GPU: it refuses in one line with status 2 and writes nothing, and
its CPU rehearsal runs every step (so the script works the day it meets a GPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import BIN, REPO

SCRIPT = REPO / "scripts" / "gpu_check.sh"
STEPS = ("machine", "data", "cuda_tests", "selfcond", "splitting", "gp_bf16", "smnist_paper", "benchmark")


def gpu_check(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("OUT", None)
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_refuses_in_one_line_with_status_2(tmp_path: Path):
    proc = gpu_check("--out", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "no CUDA GPU" in proc.stderr, proc.stderr
    assert proc.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.e2e
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: run the real check")
def test_cpu_rehearsal_runs_every_step_and_writes_the_summary(tmp_path: Path):
    out = tmp_path / "out"
    proc = gpu_check("--rehearse-on-cpu", "--out", str(out), timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = (out / "summary.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in summary[:-1]] == list(STEPS), summary
    assert all(": PASS in " in line for line in summary[:-1]) and "all steps passed" in summary[-1], summary
    assert "refused without a GPU" in summary[-2]  # benchmark.py --gpu, on the CPU
    for name in (
        "machine.txt",
        "cuda_tests.log",
        "gp_bf16.txt",
        "benchmark_gpu.txt",
        "console.log",
        "selfcond/extraction.txt",
        "splitting/round_02/train_log.csv",
        "selfcond/round_01/samples.png",
        "smnist_paper/round_02/train_log.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "d_gp" in (out / "splitting" / "round_02" / "train_log.csv").read_text().splitlines()[0]
    assert "GPU-hours for its 30 runs" in next(line for line in summary if line.startswith("smnist_paper"))
