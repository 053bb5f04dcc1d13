#!/usr/bin/env python
"""Where a finished workflow run's job time went, read from Snakemake's benchmark files.

    python scripts/workflow_benchmarks.py results          # or: python scripts/benchmark.py --workflow results

Every rule that starts a process has a ``benchmark:`` file under ``RESULTS/benchmarks/``; its ``s``
column is the job's wall time (process start, imports and work). This prints, per rule, the number
of jobs, job-seconds in all, mean and median seconds per job and the share of all job-seconds; then
the share outside ``train_phase`` (job-seconds of every other rule / all job-seconds), the share
outside the training loops themselves (all job-seconds minus the loop seconds every phase logs in
its train_log.csv: since a phase also writes its round's features and metrics, this is the honest
non-training share) and the median relabel job. A job's seconds are counted as they are, whatever else ran beside it, so the
sum can exceed the run's wall time when jobs ran in parallel. No torch here.

Benchmark file layout (workflow/rules/*.smk): ``RUN/seedS/NAME[_RR].tsv`` per run (round RR),
``RULE/DATASET.tsv`` per dataset, ``RULE.tsv`` once per workflow.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

# Benchmark file stem (without the round) -> the rule that writes it, where the two differ.
RULE_OF_STEM = {
    "train": "train_phase",
    "evaluate": "evaluate_round",  # before round metrics moved into the phase job
    "extract": "extract_features",  # likewise features.h5
    "audit": "audit_run",
    "lineage": "lineage_figures",
}
TRAIN_RULE = "train_phase"
RELABEL_RULE = "relabel"


def rule_of(path: Path, root: Path) -> str:
    """The rule a benchmark file belongs to, from where it lies under ``root`` (see the module docstring)."""
    parts = path.relative_to(root).parts
    if len(parts) == 2:  # RULE/DATASET.tsv
        return parts[0]
    stem = re.sub(r"_\d\d$", "", path.stem)
    return RULE_OF_STEM.get(stem, stem)


def job_seconds(path: Path) -> float:
    """The ``s`` column of a Snakemake benchmark file (the mean if a job was benchmarked repeatedly)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column); delete it or rerun its rule")
    return statistics.fmean(float(r["s"]) for r in rows)


def collect(results: Path) -> dict[str, list[float]]:
    """Job seconds per rule of every benchmark file under ``results/benchmarks``."""
    root = results / "benchmarks"
    files = sorted(root.rglob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"{root}: no benchmark files; run the workflow first (snakemake --cores 2)")
    per_rule: dict[str, list[float]] = defaultdict(list)
    for path in files:
        per_rule[rule_of(path, root)].append(job_seconds(path))
    return dict(per_rule)


def loop_seconds(results: Path) -> float:
    """Seconds spent in training loops: the last ``seconds`` of every phase's train_log.csv."""
    total = 0.0
    for log in results.glob("*/seed*/round_*/train_log.csv"):
        with open(log, newline="") as f:
            rows = list(csv.DictReader(f))
        total += float(rows[-1]["seconds"]) if rows else 0.0
    return total


def summary(per_rule: dict[str, list[float]], loops: float = float("nan")) -> dict[str, float]:
    """All job-seconds, the shares outside train_phase and outside the loops, the relabel job median (NaN when absent)."""
    total = sum(sum(v) for v in per_rule.values())
    train = sum(per_rule.get(TRAIN_RULE, []))
    relabel = per_rule.get(RELABEL_RULE, [])
    return {
        "jobs": sum(len(v) for v in per_rule.values()),
        "job_seconds": total,
        "outside_train_share": (total - train) / total if total else float("nan"),
        "outside_loops_share": (total - loops) / total if total else float("nan"),
        "relabel_median_s": statistics.median(relabel) if relabel else float("nan"),
    }


def report(results: Path) -> str:
    """The per-rule table and the summary lines, as printed."""
    per_rule = collect(results)
    s = summary(per_rule, loop_seconds(results))
    lines = [f"{'rule':<20} {'jobs':>5} {'job-s':>9} {'mean s':>7} {'median s':>9} {'share':>6}"]
    for rule, secs in sorted(per_rule.items(), key=lambda kv: -sum(kv[1])):
        lines.append(
            f"{rule:<20} {len(secs):>5} {sum(secs):>9.1f} {statistics.fmean(secs):>7.2f} "
            f"{statistics.median(secs):>9.2f} {100 * sum(secs) / s['job_seconds']:>5.1f}%"
        )
    lines.append(f"all jobs: {s['jobs']}, {s['job_seconds']:.1f} job-seconds")
    lines.append(f"outside {TRAIN_RULE}: {100 * s['outside_train_share']:.1f}% of job-seconds")
    lines.append(
        f"outside the training loops (train_log.csv seconds): {100 * s['outside_loops_share']:.1f}% of job-seconds"
    )
    lines.append(f"{RELABEL_RULE} job median: {s['relabel_median_s']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the results folder of a finished run (config key `results`)")
    args = parser.parse_args(argv)
    try:
        print(report(args.results))
    except (FileNotFoundError, ValueError) as e:
        print(f"workflow_benchmarks: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
