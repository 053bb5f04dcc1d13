"""Tidy metric tables (run, dataset, method, seed, round, metric, value): rows, atomic CSV writes, gathering.

No torch here: `relabelgan gather` and the report steps use it without the evaluation code.
"""

from __future__ import annotations

import pandas as pd

from .artifacts import atomic_path

COLUMNS = ["run", "dataset", "method", "seed", "round", "metric", "value"]


def metric_rows(spec: dict, rnd: int, values: dict[str, float]) -> pd.DataFrame:
    """One tidy row per metric of round ``rnd`` of the run ``spec`` describes."""
    return pd.DataFrame(
        [
            {"run": spec["name"], "dataset": spec["dataset"], "method": spec["method"], "seed": spec["seed"],
             "round": rnd, "metric": k, "value": v}
            for k, v in values.items()
        ],
        columns=COLUMNS,
    )


def write_csv(frame: pd.DataFrame, out: str) -> None:
    """Write a CSV atomically."""
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)


def gather_metrics(inputs: list[str], out: str) -> pd.DataFrame:
    """Concatenate per-round metric files into one tidy table."""
    frames = [pd.read_csv(p) for p in inputs]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values(["dataset", "run", "seed", "round", "metric"], kind="stable")
    write_csv(frame, out)
    return frame
