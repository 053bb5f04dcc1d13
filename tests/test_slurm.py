"""The slurm profile on a real single-node SLURM (scripts/local_slurm/setup.sh).

The cluster is started once per session (as root: it apt-installs slurm-wlm, munge and
MariaDB when missing) and stopped by PID afterwards unless it was already running. A tiny
config runs through ``--profile profiles/slurm``; sacct must show one COMPLETED sbatch job per
non-local rule, GPU requests only on the GPU rules, and the results must equal a local run's.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import REPO, snakemake, tiny_config, write_config

SCRIPTS = REPO / "scripts" / "local_slurm"
GPU_RULES = {"train_phase", "extract_features", "relabel"}
# The tiny run below: one selfcond run, one phase.
EXPECTED_JOBS = {"init": 1, "train_phase": 1, "extract_features": 2, "relabel": 2, "evaluate_round": 2}


def _controller_up() -> bool:
    try:
        out = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return "is UP" in out


@pytest.fixture(scope="session")
def local_slurm():
    """A running single-node SLURM with accounting; stopped at the end if this fixture started it."""
    if os.geteuid() != 0:
        pytest.skip("the local SLURM needs root (apt-get install, system daemons); CI runs as root")
    was_up = _controller_up()
    proc = subprocess.run(["bash", str(SCRIPTS / "setup.sh")], capture_output=True, text=True, timeout=1200)
    if proc.returncode == 4:
        pytest.skip(f"SLURM packages cannot be installed here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, f"scripts/local_slurm/setup.sh failed ({proc.returncode}):\n{proc.stderr}"
    yield
    if not was_up:
        subprocess.run(["bash", str(SCRIPTS / "teardown.sh")], check=True, capture_output=True, timeout=300)


def slurm_config() -> dict:
    config = tiny_config()
    config["runs"] = {"grid-selfcond": config["runs"]["grid-selfcond"]}
    config["defaults"]["rounds"] = 1
    # Small requests so both cores of a CI machine can run jobs side by side.
    config["resources"] = {
        "gpu_rules": {"gpus": 1, "mem_mb": 500, "runtime": 5},
        "cpu_rules": {"mem_mb": 500, "runtime": 5},
    }
    return config


def sacct_jobs(job_ids: list[str], timeout: float = 60) -> pd.DataFrame:
    """The accounting records of ``job_ids``, once slurmdbd has all of them as finished."""
    fields = ["JobID", "State", "Comment", "AllocTRES", "ExitCode"]
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)],
            capture_output=True, text=True, check=True,
        ).stdout
        rows = [line.split("|") for line in out.splitlines() if line]
        table = pd.DataFrame(rows, columns=fields)
        if len(table) == len(job_ids) and not table["State"].isin(["PENDING", "RUNNING"]).any():
            return table
        if time.monotonic() > deadline:
            return table
        time.sleep(1)


@pytest.mark.slow
def test_tiny_config_through_slurm_matches_local(tmp_path: Path, local_slurm):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    for workdir in (on_slurm, local):
        write_config(workdir, slurm_config())
    snakemake(
        on_slurm,
        "--profile", str(REPO / "profiles" / "slurm"),
        # a job here takes seconds: poll after 2 s instead of the plugin's 40 s
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs",
        "--jobs", "2",
        timeout=1200,
    )
    snakemake(local)

    # Every non-local job went through sbatch: the plugin keeps one log per SLURM job id.
    logs = sorted((on_slurm / ".snakemake" / "slurm_logs").rglob("*.log"))
    job_ids = [p.stem for p in logs]
    assert job_ids and all(j.isdigit() for j in job_ids), logs
    table = sacct_jobs(job_ids)
    assert (table["State"] == "COMPLETED").all(), table.to_string()
    table["rule"] = table["Comment"].str.extract(r"^rule_(\w+?)(?:_wildcards_.*)?$")[0]
    assert table["rule"].value_counts().to_dict() == EXPECTED_JOBS, table.to_string()
    has_gpu = table["AllocTRES"].str.contains("gres/gpu")
    assert has_gpu[table["rule"].isin(GPU_RULES)].all(), table.to_string()
    assert not has_gpu[~table["rule"].isin(GPU_RULES)].any(), table.to_string()

    # Same results as the local run.
    run = Path("results") / "grid-selfcond" / "seed0"
    for r in (0, 1):
        with h5py.File(on_slurm / run / f"round_{r:02d}" / "labels.h5") as a, h5py.File(
            local / run / f"round_{r:02d}" / "labels.h5"
        ) as b:
            for name in ("labels", "parent", "centroids", "sizes", "sample_index"):
                np.testing.assert_array_equal(a[name][...], b[name][...], err_msg=f"round {r} {name}")
    key = ["run", "seed", "round", "metric"]
    m_slurm = pd.read_csv(on_slurm / "results" / "metrics.csv").sort_values(key).reset_index(drop=True)
    m_local = pd.read_csv(local / "results" / "metrics.csv").sort_values(key).reset_index(drop=True)
    assert len(m_slurm) > 0
    pd.testing.assert_frame_equal(m_slurm, m_local)
