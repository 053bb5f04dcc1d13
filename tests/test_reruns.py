"""Reruns as small as the change: a job's params are the settings its stage computes from
(relabelgan.core.config.stage_settings), one param per key, so editing a metric setting re-evaluates
the models and retrains none, a k-means setting relabels (and retrains what follows) only the runs
that cluster, more rounds add phases, and Snakemake's reason names the key. Real snakemake on a copy
of the shared end-to-end run."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import yaml
from conftest import e2e_config, relabelgan, snakemake, write_config

from relabelgan.core.config import load_config, run_spec, stage_settings
from relabelgan.core.metrics_record import write_round_metrics


def _edited_copy(tiny_run: Path, tmp_path: Path, edit) -> Path:
    shutil.copytree(tiny_run, tmp_path, dirs_exist_ok=True)  # keeps mtimes and .snakemake's records
    config = e2e_config()
    edit(config)
    write_config(tmp_path, config)
    return tmp_path


def _plan(workdir: Path, *targets: str) -> tuple[dict[str, int], str]:
    """(jobs per rule, the dry run's text) of what snakemake would run now."""
    text = snakemake(workdir, "-n", *targets).stdout
    counts = snakemake(workdir, "-n", "--quiet", "rules", *targets).stdout
    jobs = {
        line.split()[0]: int(line.split()[1])
        for line in counts.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit() and line.split()[0] != "total"
    }
    return jobs, text


def _outputs(text: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("output:")]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_metric_setting_reevaluates_the_models_and_retrains_none(tiny_run, tmp_path):
    work = _edited_copy(tiny_run, tmp_path, lambda c: c["defaults"].update(eval_samples=2000))
    jobs, text = _plan(work)
    assert "reevaluate_round" in jobs, text[-3000:]
    assert not {"init", "train_phase", "relabel"} & set(jobs), jobs
    assert jobs["reevaluate_round"] == jobs["round_metrics"] == 3 * 3 + 4, jobs  # rounds 0-2, the split's 0-3
    assert "before: 'eval_samples=1000' now: 'eval_samples=2000'" in text, text[-3000:]
    run = work / "results" / "grid-uncond" / "seed0"
    models = {r: _digest(run / f"round_{r:02d}" / "model.pt") for r in range(3)}
    targets = [f"results/grid-uncond/seed0/round_{r:02d}/metrics.csv" for r in range(3)]
    snakemake(work, *targets)
    for r in range(3):
        metrics = pd.read_csv(run / f"round_{r:02d}" / "metrics.csv")
        assert "modes_2k" in set(metrics["metric"]) and "modes_1k" not in set(metrics["metric"]), r
        assert _digest(run / f"round_{r:02d}" / "model.pt") == models[r]
    assert "Nothing to be done" in snakemake(work, "-n", *targets).stdout


def test_a_kmeans_setting_relabels_only_the_runs_that_cluster(tiny_run, tmp_path):
    work = _edited_copy(tiny_run, tmp_path, lambda c: c["defaults"]["kmeans"].update(n_init=3))
    jobs, text = _plan(work)
    outputs = _outputs(text)
    # selfcond clusters every round (0-2), the splitting GAN at its split rounds (1-3), and the phases
    # after a changed round retrain; uncond never clusters and slcgan takes its clusterer's argmax:
    # neither has a job.
    assert jobs["relabel"] == 3 + 3 and jobs["train_phase"] == 2 + 2, jobs
    assert "init" not in jobs and "reevaluate_round" not in jobs, jobs
    # (their run.yaml records the new settings: it is the people's copy of the spec, no job reads it)
    jobs_of_theirs = [o for o in outputs if ("grid-uncond/" in o or "grid-slcgan/" in o) and "run.yaml" not in o]
    assert not jobs_of_theirs, jobs_of_theirs
    assert "kmeans=" in text


def test_more_rounds_add_phases_and_retrain_none(tiny_run, tmp_path):
    def more_rounds(config: dict) -> None:
        config["defaults"].update(rounds=3)  # was 2
        config["runs"]["grid-split"].update(rounds=4)  # was 3

    work = _edited_copy(tiny_run, tmp_path, more_rounds)
    jobs, text = _plan(work)
    outputs = _outputs(text)
    # Phase 3 of selfcond, uncond and slcgan; the splitting run's linear lr decay spans all its phases,
    # so its four (re)train.
    assert jobs["train_phase"] == 3 + 4 and "init" not in jobs, jobs
    retrained = sorted(o for o in outputs if "round_01/model.pt" in o or "round_02/model.pt" in o)
    assert all("grid-split/" in o for o in retrained) and len(retrained) == 2, retrained
    # The old last round's final-only metrics go: re-evaluated, not retrained.
    assert jobs["reevaluate_round"] == 4, jobs


def test_stage_settings_split_the_keys(tmp_path):
    config = e2e_config()
    config["datasets"]["digits"] = {"kind": "digits"}
    config["runs"]["digits-acgan"] = {"dataset": "digits", "method": "acgan"}
    config = load_config(write_config(tmp_path, config))
    selfcond, split = run_spec(config, "grid-selfcond", 0), run_spec(config, "grid-split", 0)
    train = stage_settings(selfcond, "train")
    assert "eval_samples" not in train and "kmeans" not in train and "rounds" not in train
    assert {"lr_g", "k", "seed", "dataset_spec"} <= set(train)
    assert stage_settings(split, "train")["rounds"] == 3  # linear lr decay over all phases
    assert stage_settings(selfcond, "relabel", 1)["kmeans"]["n_init"] == 2
    assert stage_settings(split, "relabel", 0) == {"label_source": "dataset"}  # one class, nothing clustered
    metrics = stage_settings(selfcond, "metrics", 2)
    assert (
        metrics["final_round"]
        and metrics["eval_samples"] == 1000
        and not stage_settings(selfcond, "metrics", 1)["final_round"]
    )
    assert metrics["evaluator"]["epochs"] > 0 and "lr_g" not in metrics  # the grid's evaluator recipe
    assert "fid" not in metrics and stage_settings(selfcond, "fid") == {"fid": False, "fid_samples": None}
    digits = stage_settings(run_spec(config, "digits-acgan", 0), "metrics", 1)["evaluator"]
    assert digits is not None and "digit_cnn" not in digits  # the basic recipe's keys only


def test_a_record_made_under_other_metric_settings_is_refused(tmp_path):
    config = load_config(write_config(tmp_path, e2e_config()))
    spec = run_spec(config, "grid-selfcond", 0)
    write_round_metrics({**spec, "eval_samples": 5000}, 1, {"modes_5k": 9.0}, str(tmp_path / "r.json"))
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(spec))
    proc = relabelgan(
        "metrics-table", "--spec", str(tmp_path / "run.yaml"), "--round", "1",
        "--record", str(tmp_path / "r.json"), "--out", str(tmp_path / "m.csv"), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "other metric settings" in proc.stderr and "eval_samples" in proc.stderr
    assert not (tmp_path / "m.csv").exists()
