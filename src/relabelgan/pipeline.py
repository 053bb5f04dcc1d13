"""`relabelgan pipeline`: one run and seed's round sequence in one process, with the workflow's file
layout and in the workflow's order: round 0 (init, with its features and metrics record, made into
metrics.csv as rule round_metrics does), its labels, then
each phase and, where the method relabels, that round's labels (the rules in workflow/rules/train.smk
and relabel.smk). The benchmark and the GPU check run it; tests/test_pipeline.py checks that it makes
the same files as a Snakemake run. Final-round reports (FID/IS, audit, lineage, tables) stay rules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from .core.artifacts import atomic_path
from .core.config import evaluator_settings_for, load_config, run_spec
from .core.metrics_record import metrics_table
from .initialise import init_round
from .methods import get_method
from .relabel import relabel, write_label_quality
from .training.loop import train_phase
from .training.round_outputs import RoundOutputs

PHASE_METRICS = "phase_metrics.json"  # the metrics record a round's job writes (rule round_metrics reads it)


@dataclass(frozen=True)
class RunFiles:
    """A run and seed's files, laid out as the workflow lays them out (results/RUN/seedS/...)."""

    root: Path

    def round(self, r: int, name: str) -> str:
        return str(self.root / f"round_{r:02d}" / name)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's and the BLAS/OpenMP pools' threads at ``n`` (a job's OMP_NUM_THREADS in the workflow),
    so floating-point results match the rules' (None: leave them)."""
    if n is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


def _relabel(spec: dict, files: RunFiles, r: int) -> None:
    previous = files.round(r - 1, "labels.h5") if r > 0 else None
    labels = relabel(spec, r, files.round(r, "labels.h5"), files.round(r, "features.h5"), previous)
    write_label_quality(spec, r, files.round(r, "features.h5"), labels, files.round(r, "label_metrics.csv"))


def run_rounds(
    spec: dict,
    root: str | Path,
    evaluator: str | None = None,
    phases: int | None = None,
    after_phase: Callable[[int, RunFiles], None] | None = None,
    threads: tuple[int, int] | None = None,
) -> RunFiles:
    """Round 0 and phases 1..``phases`` (default: the run's ``rounds``) of a resolved run spec under
    ``root``; ``after_phase(r, files)`` is called after each phase, before its labels are made;
    ``threads``: (init's, the phases' and relabels') thread counts, the workflow's ``resources``."""
    cpu_threads, gpu_threads = threads or (None, None)
    files, method = RunFiles(Path(root)), get_method(spec["method"])

    def outputs(r: int) -> RoundOutputs:
        return RoundOutputs(files.round(r, "features.h5"), files.round(r, PHASE_METRICS), evaluator)

    with _threads(cpu_threads):
        init_round(spec, files.round(0, "model.pt"), outputs(0))
    metrics_table(spec, 0, files.round(0, PHASE_METRICS), files.round(0, "metrics.csv"))
    with _threads(gpu_threads):
        _relabel(spec, files, 0)
    for r in range(1, (phases or int(spec["rounds"])) + 1):
        labels = files.round(method.labels_round(r - 1), "labels.h5")
        with _threads(gpu_threads):
            _phase(spec, files, r, labels, outputs(r))
        metrics_table(spec, r, files.round(r, PHASE_METRICS), files.round(r, "metrics.csv"))
        if after_phase:
            after_phase(r, files)
        if method.labels_round(r) == r:
            with _threads(gpu_threads):
                _relabel(spec, files, r)
    return files


def _phase(spec: dict, files: RunFiles, r: int, labels: str, outputs: RoundOutputs) -> None:
    train_phase(
        spec,
        r,
        files.round(r - 1, "model.pt"),
        labels,
        files.round(r, "model.pt"),
        files.round(r, "train_log.csv"),
        files.round(r, "samples.png"),
        outputs,
    )


def _evaluator(config: dict, dataset: str, results: Path) -> str | None:
    """The dataset's evaluator.pt where the workflow keeps it, trained here if it is not there yet."""
    from .data.registry import has_evaluator
    from .metrics.evaluator import train_evaluator

    if not has_evaluator(config["datasets"][dataset]["kind"]):
        return None
    out = results / "evaluators" / dataset
    if not (out / "evaluator.pt").exists():
        spec = config["datasets"][dataset]
        ev = evaluator_settings_for(config["evaluator"], spec["kind"])  # what the rule passes
        out.mkdir(parents=True, exist_ok=True)
        train_evaluator(
            spec, dataset, str(out / "evaluator.pt"), str(out / "evaluator.csv"),
            ev["epochs"], ev["test_fraction"], ev["seed"], ev["batch_size"], ev["lr"],
            digit_cnn=ev.get("digit_cnn"), triples=ev.get("triples"),
        )  # fmt: skip
    return str(out / "evaluator.pt")


def run_pipeline(config_path: str, run: str, seed: int, results: str, phases: int | None = None) -> RunFiles:
    """The `pipeline` command: resolve the run, train its dataset's evaluator, run its rounds under
    ``results/RUN/seedS`` (the workflow's paths, so a later `snakemake` run sees them)."""
    config = load_config(config_path)
    spec = run_spec(config, run, seed)
    root = Path(results) / run / f"seed{seed}"
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(root / "run.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(spec, sort_keys=True))
    threads = (int(config["resources"]["cpu_rules"]["threads"]), int(config["resources"]["gpu_rules"]["threads"]))
    with _threads(threads[0]):
        evaluator = _evaluator(config, spec["dataset"], Path(results))
    return run_rounds(spec, root, evaluator, phases, threads=threads)
