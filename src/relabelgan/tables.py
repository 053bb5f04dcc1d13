"""`relabelgan tables`: comparison across runs and seeds, shaped like the papers' tables.

For one dataset: each run's metrics at its final round, mean ± standard error over seeds
(standard error = sample std / sqrt(n); blank with a single seed), as a tidy CSV (mean, se, n),
a Markdown table (runs × metrics, ``mean ± se`` by significant digits: ``format_mean_se``) and a
seaborn bar chart with the same error bars. No torch here: scripts/results_tables.py imports it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core.artifacts import atomic_path
from .report.metric_labels import panel_axes, panels_of, seeds_phrase, without_meaningless_label_metrics
from .report.plotting import pyplot, save_png


def final_round(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's last round (the last round the run has a value for, per metric)."""
    last = frame.groupby(["run", "metric"])["round"].transform("max")
    return frame[frame["round"] == last]


TRAINED_PURITY = "trained_labels_purity"


def with_trained_labels_purity(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus, for every run, seed and round r that has a class agreement, ``trained_labels_purity``:
    the ``labels_purity`` of the labels that round's model was trained on (the latest label round before
    r: model r trains on labels r-1, or on round 0's for a method whose labels never change).

    ``clf_class_agreement`` compares G's samples with those labels, so this is the purity to read it
    against; round r's own ``labels_purity`` belongs to labels clustered from model r's features, which
    no model has trained on yet.
    """
    keys = ["run", "dataset", "method", "seed"]
    purity = frame.loc[frame["metric"] == "labels_purity", [*keys, "round", "value"]].sort_values("round")
    agreement = frame[frame["metric"].str.startswith("clf_class_agreement")]
    wanted = agreement[[*keys, "round"]].drop_duplicates().sort_values("round")
    if wanted.empty or purity.empty:
        return frame
    # The latest purity strictly before each round, per run and seed.
    derived = pd.merge_asof(wanted, purity, on="round", by=keys, allow_exact_matches=False)
    derived = derived.dropna(subset=["value"]).assign(metric=TRAINED_PURITY)[list(frame.columns)]
    return pd.concat([frame[frame["metric"] != TRAINED_PURITY], derived], ignore_index=True)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """(run, method, metric) → mean, se, n over seeds."""
    g = frame.groupby(["run", "method", "metric"], sort=True)["value"]
    out = g.agg(mean="mean", std=lambda v: v.std(ddof=1), n="count").reset_index()
    out["se"] = out["std"] / np.sqrt(out["n"])
    return out.drop(columns="std")[["run", "method", "metric", "mean", "se", "n"]]


def decimals_for(value: float, significant: int) -> int:
    """Decimal places that show ``value`` to ``significant`` significant digits (0 for large values)."""
    if not np.isfinite(value) or value == 0:
        return 0
    return max(0, significant - 1 - int(np.floor(np.log10(abs(value)))))


def format_mean_se(mean: float, se: float = float("nan")) -> str:
    """``mean ± se`` by significant digits, not fixed decimals, so 0.0014 and 97.0 both read right.

    The mean gets at least 3 significant digits and as many decimals as the se shown to 2
    significant digits (at most 6 significant digits of the mean); a missing se (one seed) is left out.
    """
    if not np.isfinite(mean):
        return "–"  # not computed or undefined for this run (e.g. no seed has it): shown, never dropped
    places = decimals_for(mean, 3)
    if np.isfinite(se):
        places = min(max(places, decimals_for(se, 2)), max(places, decimals_for(mean, 6)))
        return f"{mean:.{places}f} ± {se:.{places}f}"
    return f"{mean:.{places}f}"


def markdown_table(summary: pd.DataFrame, title: str, notes: tuple[str, ...] | list[str] = ()) -> str:
    """Runs as rows, metrics as columns, cells ``mean ± se`` (GitHub Markdown)."""
    metrics = sorted(summary["metric"].unique())
    runs = summary[["run", "method"]].drop_duplicates().sort_values("run")
    cells = {(r.run, r.metric): format_mean_se(r.mean, r.se) for r in summary.itertuples()}
    lines = [
        f"### {title}",
        "",
        "| run | method | " + " | ".join(metrics) + " |",
        "| --- | --- |" + " --- |" * len(metrics),
    ]
    for r in runs.itertuples():
        lines.append(f"| {r.run} | {r.method} | " + " | ".join(cells.get((r.run, m), "") for m in metrics) + " |")
    n = summary.loc[summary["n"] > 0, "n"]
    seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()}–{n.max()}"
    lines += ["", f"Final round of each run; mean ± standard error over {seeds} seed(s)."]
    if not np.isfinite(summary["mean"]).all():
        lines += [
            "– = not computed for that run: the metric does not apply to it or is undefined "
            "(e.g. a spread ratio without high-quality samples; docs/metrics.md says when each applies)."
        ]
    lines += [f"{note}" for note in notes]
    return "\n".join(lines) + "\n"


def comparison(
    metrics_csv: str, dataset: str, out_csv: str, out_md: str, out_png: str, evaluator_csv: str | None = None
) -> pd.DataFrame:
    """Write one dataset's comparison table (CSV, Markdown) and plot; return the summary."""
    frame = pd.read_csv(metrics_csv)
    frame = frame[frame["dataset"] == dataset]
    if frame.empty:
        raise ValueError(f"{metrics_csv}: no metrics for dataset {dataset!r}")
    frame = with_trained_labels_purity(frame)
    summary = summarise(final_round(frame))
    with atomic_path(out_csv) as tmp:
        summary.to_csv(tmp, index=False)
    notes = []
    if evaluator_csv:
        acc = pd.read_csv(evaluator_csv)
        value = float(acc.loc[acc["metric"] == "evaluator_test_accuracy", "value"].iloc[0])
        notes.append(
            f"clf_* metrics use an evaluator classifier with test accuracy {100 * value:.1f}% on held-out {dataset}."
        )
    with atomic_path(out_md) as tmp:
        tmp.write_text(markdown_table(summary, f"{dataset}: comparison", notes))
    _plot(final_round(without_meaningless_label_metrics(frame)), dataset, out_png)
    return summary


def _plot(frame: pd.DataFrame, dataset: str, out: str) -> None:
    """Bars of the key metrics (report/metric_labels.py), one panel each, titled by name and direction;
    the Markdown table holds every metric. A run without a value of a metric has no bar there."""
    import seaborn as sns

    pyplot()  # headless backend before seaborn draws

    sns.set_theme(style="whitegrid", context="paper")
    panels = panels_of(frame)
    runs = sorted(frame["run"].unique())
    fig, axes = panel_axes(len(panels), (3.4, 2.9))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        sns.barplot(
            data=frame[frame["metric"] == metric],
            x="run",
            y="value",
            hue="run",
            order=runs,
            hue_order=runs,
            errorbar="se",
            legend=False,
            ax=ax,
        )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xticks(range(len(runs)), labels=runs, rotation=45, ha="right")
    fig.suptitle(f"{dataset}: final round, {seeds_phrase(frame)} (every metric: the table)", y=1.0)
    fig.tight_layout()
    save_png(fig, out)
