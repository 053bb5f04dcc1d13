"""`relabelgan figures`: seaborn figures of the key metrics over rounds, one per dataset."""

from __future__ import annotations

import pandas as pd

from .report.metric_labels import panel_axes, panels_of, seeds_phrase, without_meaningless_label_metrics
from .report.plotting import pyplot, save_png


def metrics_over_rounds(metrics_csv: str, dataset: str, out: str) -> None:
    """One panel per key metric (report/metric_labels.py), titled by name and direction; x = round
    (whole numbers), one line per run (mean and 95% interval over seeds)."""
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()  # headless backend before seaborn draws

    frame = pd.read_csv(metrics_csv)
    frame = without_meaningless_label_metrics(frame[frame["dataset"] == dataset])
    if frame.empty:
        raise ValueError(f"{metrics_csv}: no metrics for dataset {dataset!r}")
    sns.set_theme(style="whitegrid", context="paper")
    panels = panels_of(frame)
    runs = sorted(frame["run"].unique())
    colours = dict(zip(runs, sns.color_palette("husl" if len(runs) > 10 else None, n_colors=len(runs)), strict=True))
    fig, axes = panel_axes(len(panels), (3.4, 2.7))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        sns.lineplot(
            data=frame[frame["metric"] == metric],
            x="round",
            y="value",
            hue="run",
            hue_order=runs,
            palette=colours,
            marker="o",
            legend=False,
            ax=ax,
        )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("round")
        ax.set_ylabel("")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [plt.Line2D([], [], color=colours[run], marker="o", label=run) for run in runs]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), title="run", frameon=False)
    interval = "one seed" if seeds_phrase(frame) == "one seed" else "mean and 95% interval over seeds"
    fig.suptitle(f"{dataset}: key metrics over rounds ({interval}; every metric: metrics.csv)", y=1.0)
    fig.tight_layout()
    save_png(fig, out)
