"""What the figures show of a metrics table, and how they name it for a reader.

A run writes 10-25 metrics per round (docs/metrics.md); a figure of all of them is a wall of raw
names. The figures plot the key metrics only, each titled by a readable name and the direction that
is better; the comparison tables keep every metric. Metric names carry their protocol
(``clf_modes_10k``: 10,000 samples), so a key metric is matched by its family, and where a run
wrote one family under several protocols the one with the most samples is shown. No torch here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class KeyMetric:
    family: str  # a regular expression matching the family's metric names
    label: str
    better: str  # "higher" or "lower"

    def title(self) -> str:
        return f"{self.label}\n({self.better} is better)"


# In the order the panels appear: coverage first, then quality, then whether G follows its classes,
# then the labels. Directions as docs/metrics.md defines each metric.
KEY_METRICS = (
    KeyMetric(r"modes_\d+k", "modes covered", "higher"),
    KeyMetric(r"hq_ball_pct_\d+k", "high-quality samples (%)", "higher"),
    KeyMetric(r"reverse_kl_\d+k", "reverse KL over modes (nats)", "lower"),
    KeyMetric(r"clf_modes_\d+k", "modes covered (evaluator)", "higher"),
    KeyMetric(r"clf_reverse_kl_\d+k", "reverse KL, evaluator's modes (nats)", "lower"),
    KeyMetric(r"clf_frechet_\d+k", "Fréchet distance (evaluator features)", "lower"),
    KeyMetric(r"fid\d+k_train", "FID (Inception, training set)", "lower"),
    KeyMetric(r"is\d+k_\d+splits", "Inception score", "higher"),
    KeyMetric(r"msssim_w\d+_\d+px_gen_intra", "MS-SSIM within G's classes", "lower"),
    KeyMetric(r"clf_class_agreement_\d+k", "G follows its classes (agreement)", "higher"),
    KeyMetric(r"labels_nmi", "labels' NMI with the true classes", "higher"),
)


MAX_PANELS = 6  # when a table has none of the key metrics: its first metrics, by name


def panels_of(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The figure's panels: the key ones, or without any, the first metrics by their raw names."""
    return key_panels(frame) or [(m, m) for m in sorted(frame["metric"].unique())[:MAX_PANELS]]


def panel_axes(n: int, cell: tuple[float, float], cols: int = 3):
    """(figure, its n axes) of n panels, ``cols`` to a row, each ``cell`` inches; the rest hidden."""
    from .plotting import pyplot

    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(cell[0] * cols, cell[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _samples(metric: str) -> int:
    """The sample count a metric name's protocol states (``_10k`` → 10,000), 0 if none."""
    found = re.search(r"(\d+)k", metric)
    return int(found.group(1)) * 1000 if found else 0


def key_panels(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric, panel title) for each key metric ``frame`` holds a finite value of, in panel order."""
    present = frame.loc[frame["value"].notna(), "metric"].unique()
    panels = []
    for key in KEY_METRICS:
        names = [m for m in present if re.fullmatch(key.family, m)]
        if names:
            panels.append((max(names, key=_samples), key.title()))
    return panels


def without_meaningless_label_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the labels' metrics of runs whose labels never change (their round-0 labels
    are one class or the truth: NMI 0 or 1 by construction, nothing a method did)."""
    labels = frame["metric"].str.startswith("labels_")
    relabelled = frame.loc[labels & (frame["round"] > 0), "run"].unique()
    return frame[~labels | frame["run"].isin(relabelled)]


def seeds_phrase(frame: pd.DataFrame) -> str:
    """ "mean ± s.e. over N seeds", or "one seed" when no run has more than one."""
    n = frame.groupby("run")["seed"].nunique()
    if n.max() <= 1:
        return "one seed"
    counts = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    return f"mean ± s.e. over {counts} seeds"
