"""A round's model metrics together with the settings they were computed under.

A phase computes its round's metrics while it holds the model (training/round_outputs.py) and, in
the workflow, writes them as a record (``phase_metrics.json``): the values and the metrics stage's
settings (:func:`.config.stage_settings`: the metric keys, the evaluator recipe, whether the round is
the last). The torch-free ``round_metrics`` rule turns a record into the round's metrics.csv after
checking those settings against the run's; when a metric setting changed since the phase ran, the
workflow re-evaluates the model (rule ``reevaluate_round``) instead of retraining it. No torch here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .artifacts import atomic_path
from .config import stage_settings
from .errors import ArtifactError
from .tidy import write_metric_rows

RECORD_SUFFIX = ".json"


def _canonical(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples as lists, keys as strings), so settings compare equal."""
    return json.loads(json.dumps(value, sort_keys=True))


def write_round_metrics(spec: dict, rnd: int, values: dict[str, float], out: str) -> None:
    """Round ``rnd``'s model metrics: a record with its settings when ``out`` ends in .json, else the
    tidy CSV (run, dataset, method, seed, round, metric, value)."""
    if not str(out).endswith(RECORD_SUFFIX):
        write_metric_rows(spec, rnd, values, out)
        return
    metrics = {name: float(value) for name, value in values.items()}  # numpy scalars are no JSON
    record = {"settings": _canonical(stage_settings(spec, "metrics", rnd)), "metrics": metrics}
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n")


def read_record(path: str | Path) -> dict[str, Any]:
    """A metrics record; ArtifactError naming the file when it is not one."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path}: not a readable metrics record ({e}); rerun the job that writes it") from None
    if not isinstance(record, dict) or not {"settings", "metrics"} <= set(record):
        raise ArtifactError(f"{path}: not a metrics record (no settings and metrics); rerun the job that writes it")
    return record


def changed_settings(path: str | Path, spec: dict, rnd: int) -> list[str]:
    """The metric settings whose values in the record at ``path`` differ from ``spec``'s for round ``rnd``."""
    return _changed(read_record(path), spec, rnd)


def _changed(record: dict[str, Any], spec: dict, rnd: int) -> list[str]:
    recorded, now = record["settings"], _canonical(stage_settings(spec, "metrics", rnd))
    return sorted(key for key in set(recorded) | set(now) if recorded.get(key) != now.get(key))


def metrics_table(spec: dict, rnd: int, record_path: str, out: str) -> dict[str, float]:
    """Round ``rnd``'s metrics.csv from a record computed under the run's current metric settings."""
    record = read_record(record_path)
    changed = _changed(record, spec, rnd)
    if changed:
        raise ArtifactError(
            f"{record_path}: computed under other metric settings than run {spec['name']!r} has now "
            f"({', '.join(changed)}); re-evaluate the model (`relabelgan evaluate --out FILE.json`), "
            "as the workflow does"
        )
    values = {metric: float(value) for metric, value in record["metrics"].items()}
    write_metric_rows(spec, rnd, values, out)
    return values
