"""End to end through the real snakemake CLI on the tiny config."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import snakemake


def test_dry_run_lists_every_phase(tiny_workdir):
    out = snakemake(tiny_workdir, "-n", "--quiet", "rules").stdout
    # 2 runs x 2 phases of training; selfcond extracts features and relabels for rounds 0..2,
    # uncond keeps round 0's labels (one relabel job) and is scored after each phase only.
    assert "train_phase" in out
    counts = {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert counts["train_phase"] == 4
    assert counts["extract_features"] == 3
    assert counts["relabel"] == 4
    assert counts["evaluate_round"] == 5


@pytest.mark.e2e
def test_end_to_end_run(tiny_run):
    res = tiny_run / "results"
    run = res / "grid-selfcond" / "seed0"
    for r in range(3):
        assert (run / f"round_{r:02d}" / "labels.h5").exists()
        assert (run / f"round_{r:02d}" / "features.h5").exists()
    for r in (1, 2):
        assert (run / f"round_{r:02d}" / "model.pt").exists()
        assert (run / f"round_{r:02d}" / "samples.png").stat().st_size > 1000
        log = pd.read_csv(run / f"round_{r:02d}" / "train_log.csv")
        assert log["iteration"].iloc[-1] == 20 * r
    with h5py.File(run / "round_01" / "labels.h5") as f:
        assert f["labels"].shape == (1000,)
        assert f.attrs["method"] == "selfcond"
        assert "round_01/features.h5" in f.attrs["source_features"]
        assert np.all(f["parent"][...] >= 0)
    metrics = pd.read_csv(res / "metrics.csv")
    assert set(metrics.columns) >= {"run", "seed", "round", "metric", "value"}
    assert {"modes_1k", "hq_ball_pct_1k", "reverse_kl_1k"} <= set(metrics["metric"])
    assert (res / "figures" / "metrics_grid.png").stat().st_size > 1000
    # Nothing left to do: the DAG is complete and stable.
    dry = snakemake(tiny_run, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
