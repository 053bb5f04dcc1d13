"""`relabelgan pipeline` walks the same round sequence as the rules: on the shared end-to-end run's
config it writes the same files, bit for bit (models, features, labels, metrics)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import relabelgan

ROUND_FILES = ("model.pt", "features.h5", "labels.h5", "metrics.csv", "label_metrics.csv")


def _same_h5(a: Path, b: Path) -> bool:
    with h5py.File(a) as fa, h5py.File(b) as fb:
        names: list[str] = []
        fa.visit(names.append)
        datasets = [n for n in names if isinstance(fa[n], h5py.Dataset)]
        return all(n in fb and np.array_equal(fa[n][()], fb[n][()]) for n in datasets) and len(datasets) > 0


def _same(a: Path, b: Path) -> bool:
    if a.suffix == ".pt":
        na, nb = (torch.load(p, weights_only=True)["networks"] for p in (a, b))
        return na.keys() == nb.keys() and all(torch.equal(na[n][k], nb[n][k]) for n in na for k in na[n])
    if a.suffix == ".h5":
        return _same_h5(a, b)
    ta, tb = (pd.read_csv(p).sort_values("metric").reset_index(drop=True) for p in (a, b))
    return ta.equals(tb)


@pytest.mark.parametrize("run", ["grid-selfcond", "grid-slcgan", "grid-split"])
def test_pipeline_makes_the_workflows_files(tiny_run, tmp_path, run):
    relabelgan(
        "pipeline", "--config", str(tiny_run / "config.yaml"), "--run", run, "--seed", "0",
        "--results", str(tmp_path),
    )  # fmt: skip
    workflow = sorted((tiny_run / "results" / run / "seed0").glob("round_*/*"))
    compared = [p for p in workflow if p.name in ROUND_FILES]
    assert len(compared) >= 9, "the workflow run has too few round files: the test itself is broken"
    differ = [
        str(p.relative_to(tiny_run))
        for p in compared
        if not _same(p, tmp_path / run / "seed0" / p.parent.name / p.name)
    ]
    assert not differ, f"pipeline and workflow differ in {differ}"
