"""The metric registry: every per-round metric registers its names (protocol in the name), when it applies
and whether it is final-round only; evaluation runs exactly the metrics that apply; docs/metrics.md lists
every registered name."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import REPO, tiny_config

from relabelgan.core.config import resolve_config, run_spec
from relabelgan.core.progress import Stages
from relabelgan.metrics import registry
from relabelgan.metrics.evaluation import evaluate_model


def test_every_registered_metric_is_in_the_metrics_page():
    page = (REPO / "docs" / "metrics.md").read_text()
    metrics = registry.registered_metrics()
    assert {m.key for m in metrics} >= {"mixture", "evaluator", "msssim", "msssim_by_true_class", "nearest"}
    for metric in metrics:
        for name in metric.names:
            # the docs write the protocol as {n}/_50k or {side}px: compare the part before the first placeholder
            head = re.split(r"\{", name)[0].rstrip("_")
            assert head and head in page, f"metric {name!r} ({metric.key}) is not in docs/metrics.md"


def test_a_metric_key_registers_once():
    registry.registered_metrics()
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_metric("mixture", ("x",), applies=lambda ctx: True)(lambda ctx: {})


@pytest.mark.parametrize("rnd, expected", [(1, {"always_1", "applies_1"}), (2, {"always_2", "applies_2", "final_2"})])
def test_evaluation_runs_what_applies_and_final_only_at_the_final_round(monkeypatch, tmp_path, rnd, expected):
    spec = run_spec(resolve_config(tiny_config()), "grid-selfcond", 0)  # rounds: 2
    fake = [
        registry.Metric("always", ("always",), lambda ctx: True, lambda ctx: {f"always_{ctx.rnd}": 1.0}),
        registry.Metric("applies", ("applies",), lambda ctx: ctx.flag, lambda ctx: {f"applies_{ctx.rnd}": 2.0}),
        registry.Metric("never", ("never",), lambda ctx: False, lambda ctx: {"never": 3.0}),
        registry.Metric("final", ("final",), lambda ctx: True, lambda ctx: {f"final_{ctx.rnd}": 4.0}, final_only=True),
    ]
    monkeypatch.setattr("relabelgan.metrics.evaluation.registered_metrics", lambda: fake)
    ctx = SimpleNamespace(spec=spec, rnd=rnd, final=rnd == spec["rounds"], flag=True, stages=Stages("test"))
    values = evaluate_model(ctx, str(tmp_path / "m.csv"))
    assert set(values) == expected
    assert set(pd.read_csv(tmp_path / "m.csv")["metric"]) == expected
