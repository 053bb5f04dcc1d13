"""scripts/workflow_benchmarks.py: job-seconds per rule, the shares outside train_phase and outside the loops."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
from workflow_benchmarks import collect, loop_seconds, report, summary  # noqa: E402


def _bench(path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t100\n")


def test_shares_and_relabel_median_from_benchmark_files_and_train_logs(tmp_path):
    run = tmp_path / "benchmarks" / "grid-selfcond" / "seed0"
    _bench(run / "train_01.tsv", 30.0)
    _bench(run / "train_02.tsv", 30.0)
    for r, s in ((0, 1.0), (1, 2.0), (2, 4.0)):
        _bench(run / f"relabel_{r:02d}.tsv", s)
    _bench(run / "init.tsv", 3.0)
    _bench(tmp_path / "benchmarks" / "train_evaluator" / "grid.tsv", 5.0)
    for r in (1, 2):  # each phase's loop took 24 s of its 30 s job; the rest: start-up, features, metrics
        log = tmp_path / "grid-selfcond" / "seed0" / f"round_{r:02d}" / "train_log.csv"
        log.parent.mkdir(parents=True)
        log.write_text("round,iteration,d_loss,seconds\n1,10,0.5,12.0\n1,20,0.4,24.0\n")
    per_rule = collect(tmp_path)
    assert per_rule["train_phase"] == [30.0, 30.0] and per_rule["train_evaluator"] == [5.0]
    s = summary(per_rule, loop_seconds(tmp_path))
    assert s["jobs"] == 7 and s["job_seconds"] == pytest.approx(75.0)
    assert s["outside_train_share"] == pytest.approx(15 / 75)
    assert s["outside_loops_share"] == pytest.approx(27 / 75)
    assert s["relabel_median_s"] == 2.0
    assert "outside the training loops (train_log.csv seconds): 36.0%" in report(tmp_path)
