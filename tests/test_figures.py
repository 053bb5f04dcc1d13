"""The per-dataset figures a person reads: the key metrics only, titled by a readable name and the
direction that is better, whole-number rounds, no labels' metrics for runs whose labels never change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relabelgan.figures
import relabelgan.tables
from relabelgan.report.metric_labels import key_panels, seeds_phrase, without_meaningless_label_metrics


def _frame() -> pd.DataFrame:
    rows = []
    for run, method in (("d-selfcond", "selfcond"), ("d-uncond", "uncond")):
        for seed in (0, 1):
            for r in (0, 1, 2):
                values = {"clf_modes_10k": 5 + r, "clf_modes_50k": 6 + r, "mmd2_rbf_2k": 0.1, "clf_frechet_10k": 9 - r}
                if method == "selfcond" or r == 0:  # fixed labels: round 0's only, as the workflow writes them
                    values["labels_nmi"] = 0.5 + 0.1 * r if method == "selfcond" else 0.0
                rows += [
                    {"run": run, "dataset": "d", "method": method, "seed": seed, "round": r, "metric": m, "value": v}
                    for m, v in values.items()
                ]
    return pd.DataFrame(rows)


def test_key_panels_are_named_with_their_direction_at_the_largest_protocol():
    panels = key_panels(_frame())
    assert [metric for metric, _ in panels] == ["clf_modes_50k", "clf_frechet_10k", "labels_nmi"]
    titles = dict(panels)
    assert titles["clf_modes_50k"] == "modes covered (evaluator)\n(higher is better)"
    assert titles["clf_frechet_10k"].endswith("(lower is better)")
    # a metric without one finite value has no panel
    blank = _frame().assign(value=lambda f: np.where(f["metric"] == "labels_nmi", np.nan, f["value"]))
    assert "labels_nmi" not in dict(key_panels(blank))


def test_labels_metrics_of_runs_whose_labels_never_change_are_left_out():
    kept = without_meaningless_label_metrics(_frame())
    nmi = kept[kept["metric"] == "labels_nmi"]
    assert set(nmi["run"]) == {"d-selfcond"} and len(kept) == len(_frame()) - 2  # uncond's round-0 NMI, 2 seeds
    assert seeds_phrase(kept) == "mean ± s.e. over 2 seeds"
    assert seeds_phrase(kept[kept["seed"] == 0]) == "one seed"


@pytest.mark.parametrize("figure", ["over_rounds", "comparison"])
def test_figures_show_the_key_panels_with_whole_rounds(tmp_path, monkeypatch, figure):
    drawn = {}
    module = relabelgan.figures if figure == "over_rounds" else relabelgan.tables
    monkeypatch.setattr(module, "save_png", lambda fig, path: drawn.update(fig=fig))
    metrics = tmp_path / "metrics.csv"
    _frame().to_csv(metrics, index=False)
    if figure == "over_rounds":
        relabelgan.figures.metrics_over_rounds(str(metrics), "d", str(tmp_path / "f.png"))
    else:
        relabelgan.tables.comparison(
            str(metrics), "d", str(tmp_path / "t.csv"), str(tmp_path / "t.md"), str(tmp_path / "t.png")
        )
    axes = [ax for ax in drawn["fig"].axes if ax.get_visible()]
    assert [ax.get_title().split("\n")[0] for ax in axes] == [
        "modes covered (evaluator)",
        "Fréchet distance (evaluator features)",
        "labels' NMI with the true classes",
    ]
    if figure == "comparison":
        assert "mmd2_rbf_2k" in (tmp_path / "t.md").read_text()  # the table keeps every metric
    if figure == "over_rounds":
        ticks = [t for t in axes[0].get_xticks() if 0 <= t <= 2]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        lines = axes[2].get_lines()  # the NMI panel: selfcond's line only
        assert len({tuple(line.get_color()) for line in lines if len(line.get_xdata())}) == 1
