"""`relabelgan figures`: seaborn figures of metrics over rounds, one per dataset."""

from __future__ import annotations

import pandas as pd

from .report.plotting import pyplot, save_png


def metrics_over_rounds(metrics_csv: str, dataset: str, out: str) -> None:
    """One panel per metric, x = round, one line per run (mean and 95% interval over seeds)."""
    import seaborn as sns

    pyplot()  # headless backend before seaborn draws

    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["dataset"] == dataset]
    if frame.empty:
        raise ValueError(f"{metrics_csv}: no metrics for dataset {dataset!r}")
    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.relplot(
        data=frame,
        x="round",
        y="value",
        hue="run",
        col="metric",
        kind="line",
        marker="o",
        col_wrap=min(4, frame["metric"].nunique()),
        height=2.6,
        facet_kws={"sharey": False},
    )
    grid.figure.suptitle(f"{dataset}: metrics over rounds", y=1.03)
    save_png(grid.figure, out)
