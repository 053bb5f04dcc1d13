"""The metric registry: every per-round model metric registers itself here by decorator, with the names
it writes (the protocol in the name: ``modes_{n}`` is counted on n samples), when it applies and whether
it is computed at the final round only (stylegan2-ada's metrics/metric_main.py keeps the same kind of
registry). ``relabelgan evaluate`` builds one context per round and runs every registered metric
that applies to it; docs/metrics.md lists the same names (tests/test_metrics_registry.py checks both).

Torch-free: registering needs the metric's module imported, which :data:`METRIC_MODULES` lists
(:func:`registered_metrics` imports them). Adding a metric: a function in one of them (or a new module
named there) with :func:`register_metric`, and its row in docs/metrics.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import RoundContext

# The modules whose metrics register themselves, in the order their values are written.
METRIC_MODULES = ("mixtures", "evaluator", "diversity", "nearest")


@dataclass(frozen=True)
class Metric:
    """A registered metric function: ``compute(ctx)`` returns values named like ``names``."""

    key: str
    names: tuple[str, ...]  # what it writes; {n} is the number of samples the value was computed on
    applies: Callable[[RoundContext], bool]
    compute: Callable[[RoundContext], dict[str, float]]
    final_only: bool = False


_REGISTRY: dict[str, Metric] = {}


def register_metric(
    key: str, names: tuple[str, ...], applies: Callable[[RoundContext], bool], final_only: bool = False
) -> Callable:
    """Register the decorated ``compute(ctx) -> {name: value}`` under ``key``."""

    def register(compute: Callable[[RoundContext], dict[str, float]]) -> Callable[[RoundContext], dict[str, float]]:
        if key in _REGISTRY:
            raise ValueError(f"metric {key!r} is registered twice")
        _REGISTRY[key] = Metric(key, names, applies, compute, final_only)
        return compute

    return register


def registered_metrics() -> list[Metric]:
    """Every registered metric, in :data:`METRIC_MODULES` order (importing those modules registers them)."""
    for module in METRIC_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return list(_REGISTRY.values())


def protocol(n: int) -> str:
    """The sample count as a metric name writes it: 50000 -> '50k', 1500 -> '1500'."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)
