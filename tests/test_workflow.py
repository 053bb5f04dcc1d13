"""End to end through the real snakemake CLI on the tiny config."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake


def test_dry_run_lists_every_phase(tiny_workdir):
    out = snakemake(tiny_workdir, "-n", "--quiet", "rules").stdout
    # 2 runs x 2 phases of training; init and each phase also write their round's features and
    # metrics record (no extraction or evaluation jobs; round_metrics writes each record out as
    # metrics.csv); selfcond relabels rounds 0..2, uncond keeps round 0's labels.
    assert "train_phase" in out
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts["init"] == 2
    assert counts["train_phase"] == 4
    assert counts["relabel"] == 4
    assert counts["round_metrics"] == 6 and "reevaluate_round" not in counts
    assert "extract_features" not in counts and "evaluate_round" not in counts


def _dry_run_counts(workdir, *targets) -> dict[str, int]:
    out = snakemake(workdir, *targets, "-n", "--quiet", "rules").stdout
    return {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }


def test_named_targets_build_one_stage_each(tiny_workdir):
    """`snakemake labels` makes no figures or tables; `figures` needs the metrics but no audit."""
    labels = _dry_run_counts(tiny_workdir, "labels")
    assert labels["relabel"] == 4 and "comparison_table" not in labels and "audit_run" not in labels
    assert _dry_run_counts(tiny_workdir, "audit")["audit_run"] == 1  # grid-selfcond only: uncond's labels never change
    figures = _dry_run_counts(tiny_workdir, "figures")
    assert figures["metrics_figure"] == 1 and "audit_run" not in figures and "lineage_figures" not in figures


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
    # Model metrics of every round (from init and the phases), label metrics of every label round.
    selfcond = metrics[metrics["run"] == "grid-selfcond"]
    assert sorted(selfcond.loc[selfcond["metric"] == "modes_1k", "round"]) == [0, 1, 2]
    assert sorted(selfcond.loc[selfcond["metric"] == "labels_nmi", "round"]) == [0, 1, 2]
    uncond = metrics[metrics["run"] == "grid-uncond"]
    assert sorted(uncond.loc[uncond["metric"] == "labels_nmi", "round"]) == [0]
    assert (res / "figures" / "metrics_grid.png").stat().st_size > 1000
    # Nothing left to do: the DAG is complete and stable.
    dry = snakemake(tiny_run, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.e2e
def test_forcerun_of_a_round_file_reruns_that_phase_and_later_ones_only(tiny_run):
    """The README's rerun-one-phase command: phase 1 of grid-selfcond and what follows it, not round 0."""
    out = snakemake(
        tiny_run, "-n", "--quiet", "rules", "--forcerun", "results/grid-selfcond/seed0/round_01/model.pt"
    ).stdout
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in out.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts["train_phase"] == 2 and counts["relabel"] == 2, counts  # phases 1, 2; labels 1, 2
    assert "init" not in counts and "resolve" not in counts, counts


@pytest.mark.e2e
def test_a_deleted_middle_checkpoint_is_noticed(tiny_run, tmp_path):
    import shutil

    shutil.copytree(tiny_run, tmp_path, dirs_exist_ok=True)  # keeps mtimes and .snakemake's records
    (tmp_path / "results" / "grid-selfcond" / "seed0" / "round_01" / "model.pt").unlink()
    out = snakemake(tmp_path, "-n", "--quiet", "rules").stdout
    assert "Nothing to be done" not in out and "train_phase" in out, out


@pytest.mark.e2e
def test_bookkeeping_keys_rerun_nothing_but_reach_the_jobs(tiny_run, tmp_path):
    """log_every / snapshot_every / progress_every are not in run.yaml: editing them reruns no job,
    and a job that does run reads them from the workflow (relabelgan.core.config.read_spec)."""
    import shutil

    import yaml
    from conftest import e2e_config, write_config

    shutil.copytree(tiny_run, tmp_path, dirs_exist_ok=True)
    config = e2e_config()
    config["defaults"].update(log_every=5, snapshot_every=5, progress_every=1)
    write_config(tmp_path, config)
    dry = snakemake(tmp_path, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]
    run = tmp_path / "results" / "grid-uncond" / "seed0"
    assert "log_every" not in yaml.safe_load((run / "run.yaml").read_text())
    snakemake(tmp_path, "--forcerun", "results/grid-uncond/seed0/round_02/model.pt")
    log = pd.read_csv(run / "round_02" / "train_log.csv")
    assert log["iteration"].tolist() == [25, 30, 35, 40]  # phase 2 of 20 steps, logged every 5


@pytest.mark.e2e
def test_the_image_smoke_config_runs_end_to_end(tmp_path):
    """.test/config-images.yaml through the real snakemake: every run's final round has its image metrics."""
    shutil.copy(REPO / ".test" / "config-images.yaml", tmp_path / "config.yaml")
    snakemake(tmp_path, "--configfile", "config.yaml")
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    for run in config["runs"]:
        metrics = pd.read_csv(tmp_path / "results" / run / "seed0" / "round_02" / "metrics.csv")
        names = set(metrics["metric"])
        assert any(n.startswith("msssim") and n.endswith("_gen_intra") for n in names), run
        assert any(n.startswith("nn_ratio_") for n in names) and any(n.startswith("clf_modes_") for n in names), run
