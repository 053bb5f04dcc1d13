"""Figure plumbing every figure-making module shares: a headless pyplot and an atomic PNG save."""

from __future__ import annotations

from pathlib import Path

from ..core.artifacts import atomic_path


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (rules run without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path) -> None:
    """Write ``fig`` to ``path`` atomically as a PNG and close it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
