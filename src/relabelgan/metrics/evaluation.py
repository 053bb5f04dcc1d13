"""One round's model metrics: every registered metric (registry.py) that applies to the round's
context, written as tidy rows (run, seed, round, metric, value) or as the workflow's metrics record
(core/metrics_record.py). The phase calls
:func:`evaluate_model` with the model it holds; ``relabelgan evaluate`` with one read from model.pt."""

from __future__ import annotations

from ..core.metrics_record import write_round_metrics
from ..core.progress import Stages
from .context import RoundContext
from .registry import registered_metrics


def evaluate_model(ctx: RoundContext, out: str) -> dict[str, float]:
    """Compute every registered metric that applies to ``ctx`` (final-only ones at the final round) and
    write ``out``: a tidy CSV, or a .json record of the values and the settings they were computed under."""
    ctx.stages = Stages(f"evaluate round {ctx.rnd}")  # one log line per stage: where a long evaluation is
    values: dict[str, float] = {}
    for metric in registered_metrics():
        if (ctx.final or not metric.final_only) and metric.applies(ctx):
            values.update(metric.compute(ctx))
    ctx.stages.done(f"{len(values)} metrics computed")
    write_round_metrics(ctx.spec, ctx.rnd, values, out)
    return values
