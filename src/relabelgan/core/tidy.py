"""Tidy metric tables (run, dataset, method, seed, round, metric, value): rows, atomic CSV writes, gathering.

No torch here: `relabelgan gather` and the report steps use it without the evaluation code. pandas is
imported by the functions that build frames only, so the relabel step writes its rows without it.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from .artifacts import atomic_path

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["run", "dataset", "method", "seed", "round", "metric", "value"]


def _row(spec: dict, rnd: int, metric: str, value: float) -> dict:
    return {
        "run": spec["name"],
        "dataset": spec["dataset"],
        "method": spec["method"],
        "seed": spec["seed"],
        "round": rnd,
        "metric": metric,
        "value": value,
    }


def write_metric_rows(spec: dict, rnd: int, values: dict[str, float], out: str) -> None:
    """The tidy CSV :func:`metric_rows` + :func:`write_csv` would write, without importing pandas."""
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(_row(spec, rnd, k, v) for k, v in values.items())


def metric_rows(spec: dict, rnd: int, values: dict[str, float]) -> pd.DataFrame:
    """One tidy row per metric of round ``rnd`` of the run ``spec`` describes."""
    import pandas as pd

    return pd.DataFrame([_row(spec, rnd, k, v) for k, v in values.items()], columns=COLUMNS)


def write_csv(frame: pd.DataFrame, out: str) -> None:
    """Write a CSV atomically."""
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)


def gather_metrics(inputs: list[str], out: str) -> pd.DataFrame:
    """Concatenate per-round metric files into one tidy table."""
    import pandas as pd

    frames = [pd.read_csv(p) for p in inputs]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values(["dataset", "run", "seed", "round", "metric"], kind="stable")
    write_csv(frame, out)
    return frame
