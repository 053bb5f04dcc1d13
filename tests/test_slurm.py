"""The slurm profile on a real single-node SLURM (scripts/local_slurm/setup.sh).

The cluster is started once per session (as root: it apt-installs slurm-wlm, munge and
MariaDB when missing) and stopped by PID afterwards unless it was already running. A tiny
config runs through ``--profile slurm`` as a user types it, after ``relabelgan install-profile slurm``
wrote the user profile (HOME and XDG_CONFIG_HOME in a temporary folder); sacct must show one
COMPLETED sbatch job per non-local rule, GPU requests only on the GPU rules (from the workflow's
own resources, not the profile), and the results must equal a local run's.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import BIN, REPO, snakemake, tiny_config, write_config

SCRIPTS = REPO / "scripts" / "local_slurm"
# Rules that must run on the cluster for the tiny config below (one selfcond run, one phase).
CLUSTER_RULES = {"init", "train_phase", "relabel"}


def rule_kinds() -> tuple[set[str], set[str]]:
    """(local rules, rules asking for a GPU), read from workflow/rules/*.smk."""
    local, gpu = set(), set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for m in re.finditer(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.S | re.M):
            if re.search(r"^\s+localrule: True", m.group(2), re.M):
                local.add(m.group(1))
            if re.search(r"^\s+gpu=", m.group(2), re.M):
                gpu.add(m.group(1))
    return local, gpu


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
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split("|") for line in out.splitlines() if line]
        table = pd.DataFrame(rows, columns=fields)
        if len(table) == len(job_ids) and not table["State"].isin(["PENDING", "RUNNING"]).any():
            return table
        if time.monotonic() > deadline:
            return table
        time.sleep(1)


@pytest.mark.slurm
def test_tiny_config_through_slurm_matches_local(tmp_path: Path, local_slurm):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    for workdir in (on_slurm, local):
        write_config(workdir, slurm_config())
    home = tmp_path / "home"
    user = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    subprocess.run(
        [str(BIN / "relabelgan"), "install-profile", "slurm"],
        check=True,
        capture_output=True,
        env={**os.environ, **user},
    )
    proc = snakemake(
        on_slurm,
        "--profile",
        "slurm",
        # a job here takes seconds: poll after 2 s instead of the plugin's 40 s
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
        "--jobs",
        "2",
        timeout=1200,
        env=user,
        slurm=True,
    )
    snakemake(local)

    # Every non-local job went through sbatch: the plugin keeps one log per SLURM job id.
    logs = sorted((on_slurm / ".snakemake" / "slurm_logs").rglob("*.log"))
    job_ids = [p.stem for p in logs]
    assert job_ids and all(j.isdigit() for j in job_ids), logs
    table = sacct_jobs(job_ids)
    assert (table["State"] == "COMPLETED").all(), table.to_string()
    table["rule"] = table["Comment"].str.extract(r"^rule_(\w+?)(?:_wildcards_.*)?$")[0]
    finished = Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr))
    on_cluster = Counter(table["rule"])
    local_rules, gpu_rules = rule_kinds()
    assert set(on_cluster) >= CLUSTER_RULES, table.to_string()
    # Every job of a non-local rule was an sbatch job, and no local rule was.
    assert on_cluster == Counter({r: n for r, n in finished.items() if r not in local_rules | {"all"}}), (
        f"{table.to_string()}\nfinished: {finished}"
    )
    has_gpu = table["AllocTRES"].str.contains("gres/gpu")
    assert gpu_rules & set(on_cluster) >= {"train_phase", "relabel"}
    assert has_gpu[table["rule"].isin(gpu_rules)].all(), table.to_string()
    assert not has_gpu[~table["rule"].isin(gpu_rules)].any(), table.to_string()

    # Same results as the local run.
    run = Path("results") / "grid-selfcond" / "seed0"
    for r in (0, 1):
        with (
            h5py.File(on_slurm / run / f"round_{r:02d}" / "labels.h5") as a,
            h5py.File(local / run / f"round_{r:02d}" / "labels.h5") as b,
        ):
            for name in ("labels", "parent", "centroids", "sizes", "sample_index"):
                np.testing.assert_array_equal(a[name][...], b[name][...], err_msg=f"round {r} {name}")
    key = ["run", "seed", "round", "metric"]
    m_slurm = pd.read_csv(on_slurm / "results" / "metrics.csv").sort_values(key).reset_index(drop=True)
    m_local = pd.read_csv(local / "results" / "metrics.csv").sort_values(key).reset_index(drop=True)
    assert len(m_slurm) > 0
    pd.testing.assert_frame_equal(m_slurm, m_local)
