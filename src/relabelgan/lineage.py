"""`relabelgan lineage`: one run's label-lineage figures, drawn with matplotlib from its labels.h5 files.

- ``flow.png``: alluvial diagram, one column of stacked class sizes per round, bands = samples moving;
- ``transitions.png``: row-normalised transition heatmap for each pair of consecutive rounds;
- ``sizes.png``: class sizes per round (sorted), so collapsing or exploding clusters show;
- ``split_tree.png``: the class tree from ``parent`` (red: a class with two or more children);
- ``clusters.png``: per class, real members beside samples the final model generates for it
  (lineage_clusters.py: it needs the model, hence torch; the other four read labels.h5 alone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audit import load_rounds, transition_matrix
from .core.artifacts import LabelRound
from .report.plotting import pyplot, save_png

FLOW_MIN_SHARE = 0.002  # bands thinner than this share of the samples are not drawn (readability)


def _colour(c: int):
    return pyplot().get_cmap("tab20")(c % 20)


def _stack(sizes: np.ndarray, gap: float) -> np.ndarray:
    """Bottom of each class's block when blocks of ``sizes`` are stacked with ``gap`` between them."""
    return np.concatenate([[0.0], np.cumsum(sizes + gap)[:-1]])


def flow_figure(rounds: list[LabelRound], out: str) -> None:
    """Alluvial diagram of class membership across rounds (bands coloured by the earlier class)."""
    plt = pyplot()
    n = max(len(r.labels) for r in rounds)
    gap, width = 0.01 * n, 0.08
    fig, ax = plt.subplots(figsize=(2.2 * len(rounds) + 1, 5))
    bottoms = [_stack(r.sizes.astype(float), gap) for r in rounds]
    for x, (r, base) in enumerate(zip(rounds, bottoms, strict=True)):
        for c in np.flatnonzero(r.sizes):
            ax.add_patch(plt.Rectangle((x - width, base[c]), 2 * width, r.sizes[c], color=_colour(int(c)), lw=0))
            if r.sizes[c] > 0.04 * n:
                ax.text(x, base[c] + r.sizes[c] / 2, str(c), ha="center", va="center", fontsize=6)
    t = np.linspace(0, 1, 30)
    ease = t * t * (3 - 2 * t)  # smoothstep: bands leave and arrive horizontally
    for x, (a, b) in enumerate(zip(rounds, rounds[1:], strict=False)):
        m = transition_matrix(a, b).astype(float)
        out_pos = bottoms[x].copy()  # next free height inside each old block
        in_pos = bottoms[x + 1].copy()
        for i in range(a.k):
            for j in range(b.k):
                if m[i, j] < FLOW_MIN_SHARE * n:
                    out_pos[i] += m[i, j]
                    in_pos[j] += m[i, j]
                    continue
                y0, y1 = out_pos[i], in_pos[j]
                lo = y0 + (y1 - y0) * ease
                ax.fill_between(x + width + t * (1 - 2 * width), lo, lo + m[i, j], color=_colour(i), alpha=0.45, lw=0)
                out_pos[i] += m[i, j]
                in_pos[j] += m[i, j]
    ax.set_xlim(-0.5, len(rounds) - 0.5)
    ax.set_ylim(0, max(b[-1] + r.sizes[-1] for b, r in zip(bottoms, rounds, strict=False)) * 1.02)
    ax.set_xticks(range(len(rounds)), [f"round {r.attrs['round']}" for r in rounds])
    ax.set_yticks([])
    ax.set_title("label flow between rounds (block = class, band = samples moving)")
    save_png(fig, out)


def transitions_figure(rounds: list[LabelRound], out: str) -> None:
    """Heatmap per consecutive pair: share of old class i's samples that land in new class j."""
    plt = pyplot()
    pairs = list(zip(rounds, rounds[1:], strict=False)) or [(rounds[0], rounds[0])]
    # Constrained layout keeps each panel's y label clear of its left neighbour.
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs) + 0.8, 3.6), squeeze=False, layout="constrained")
    for ax, (a, b) in zip(axes[0], pairs, strict=False):
        m = transition_matrix(a, b).astype(float)
        share = m / np.maximum(m.sum(1, keepdims=True), 1)
        im = ax.imshow(share, cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_xlabel(f"class in round {b.attrs['round']}")
        ax.set_ylabel(f"class in round {a.attrs['round']}")
        stay = np.trace(m) / max(m.sum(), 1) if a.k == b.k else float("nan")
        ax.set_title(f"{a.attrs['round']}→{b.attrs['round']}: same id {100 * stay:.0f}%", fontsize=9)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="share of the row's samples")
    save_png(fig, out)


def sizes_figure(rounds: list[LabelRound], out: str) -> None:
    """Class sizes per round, largest first, one panel per round on a shared axis."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(rounds), figsize=(2.6 * len(rounds) + 0.6, 2.8), sharey=True, squeeze=False)
    for ax, r in zip(axes[0], rounds, strict=False):
        order = np.argsort(-r.sizes, kind="stable")
        ax.bar(np.arange(r.k), r.sizes[order], color=[_colour(c) for c in order], width=0.9)
        ax.set_title(f"round {r.attrs['round']} (k={r.k}, empty={(r.sizes == 0).sum()})", fontsize=9)
        ax.set_xlabel("class rank by size")
    axes[0][0].set_ylabel("samples")
    save_png(fig, out)


def split_tree_figure(rounds: list[LabelRound], out: str) -> None:
    """Classes as nodes per round, edges from ``parent``; a class with >= 2 children is drawn red."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2.2 * len(rounds) + 1, max(3.0, 0.12 * max(r.k for r in rounds) + 1)))
    ys = [np.linspace(0, 1, r.k) if r.k > 1 else np.array([0.5]) for r in rounds]
    n_splits = 0
    for x in range(1, len(rounds)):
        parent = rounds[x].parent
        children = np.bincount(parent[parent >= 0], minlength=rounds[x - 1].k)
        n_splits += int((children >= 2).sum())
        for j, p in enumerate(parent):
            if 0 <= p < rounds[x - 1].k:
                split = children[p] >= 2
                ax.plot(
                    [x - 1, x],
                    [ys[x - 1][p], ys[x][j]],
                    color="tab:red" if split else "0.7",
                    lw=1.2 if split else 0.6,
                    zorder=1,
                )
    for x, r in enumerate(rounds):
        ax.scatter(np.full(r.k, x), ys[x], s=12, c=[_colour(c) for c in range(r.k)], zorder=2)
    ax.set_xticks(range(len(rounds)), [f"round {r.attrs['round']}" for r in rounds])
    ax.set_yticks([])
    title = (
        f"class tree from parent ids: {n_splits} split(s)"
        if n_splits
        else "class tree: no class split (each class has one child)"
    )
    ax.set_title(title, fontsize=10)
    save_png(fig, out)


def lineage_figures(labels_paths: list[str], out_dir: str) -> list[LabelRound]:
    """Write the four figures drawn from labels.h5 alone into ``out_dir``; return the rounds, ordered."""
    rounds = load_rounds(labels_paths)
    out = Path(out_dir)
    flow_figure(rounds, str(out / "flow.png"))
    transitions_figure(rounds, str(out / "transitions.png"))
    sizes_figure(rounds, str(out / "sizes.png"))
    split_tree_figure(rounds, str(out / "split_tree.png"))
    return rounds
