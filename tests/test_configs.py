"""configs/*.yaml: every shipped experiment config is planned by the real `snakemake -n`, which reads no data.

The cluster configs point at local dataset folders (/data/...) that CI machines do not have; the
test points them at a folder that does not exist, so a plan that needed the data would fail, and
checks that the dry run created nothing: no data folder, no results.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, snakemake, write_config

from relabelgan.core.config import resolve_config
from relabelgan.data.registry import has_evaluator

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def planned_jobs(log: str) -> dict[str, int]:
    """Snakemake's 'Job stats' table of a dry run: jobs per rule."""
    table = log[log.index("Job stats:") :]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def test_every_paper_config_is_here():
    assert {p.name for p in CONFIGS} >= {"paper-2d.yaml", "images.yaml", "cifar10.yaml", "stl10.yaml"}


@pytest.mark.e2e  # a real snakemake process per config; planning cifar10.yaml took 109 s on the loaded 2-core machine
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_is_planned_without_its_data(path: Path, tmp_path: Path):
    config = yaml.safe_load(path.read_text())
    absent = tmp_path / "no-data"
    for name, dataset in config["datasets"].items():
        if "path" in dataset:
            dataset["path"] = str(absent / name)
    write_config(tmp_path, config)

    proc = snakemake(tmp_path, "--dry-run")

    jobs = planned_jobs(proc.stdout + proc.stderr)
    resolved = resolve_config(config)
    runs, seeds = resolved["runs"], resolved["seeds"]
    assert jobs["init"] == len(runs) * len(seeds)
    assert jobs["train_phase"] == len(seeds) * sum(run["rounds"] for run in runs.values())
    with_evaluator = {run["dataset"] for run in runs.values()} & {
        name for name, d in resolved["datasets"].items() if has_evaluator(d["kind"])
    }
    assert jobs.get("train_evaluator", 0) == len(with_evaluator)
    assert not absent.exists(), "the dry run created a dataset folder"
    assert not (tmp_path / resolved["results"]).exists(), "the dry run wrote results"
