"""`relabelgan audit`: how a run's labels evolved, read from its labels.h5 files.

Answers three questions (docs/audit.md):
- where did sample i go in every round (:func:`sample_history`);
- which samples moved between rounds r and r+1 (:func:`moved_samples`);
- which clusters split or merged (:func:`split_merge_events`): old class c *split* when two or more
  new classes each took at least ``min_share`` of c's members, or when labels.h5 records two or more
  children with ``parent == c`` that each took some of c's members; new class j *merged* old classes
  when two or more of them each gave at least ``min_share`` of j's members. A round pair whose
  transition matrix is a permutation (every sample kept its group, only the ids changed) has no splits
  or merges, whatever labels.h5's parents say.
Samples are matched across rounds by ``sample_index`` (dataset index), never by row position.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .core.artifacts import ArtifactError, LabelRound, atomic_path, read_labels
from .metrics.clustering import contingency


def load_rounds(paths: list[str]) -> list[LabelRound]:
    """Read labels.h5 files and order them by their ``round`` attribute (file order when absent)."""
    rounds = [read_labels(p) for p in paths]
    order = [int(r.attrs.get("round", i)) for i, r in enumerate(rounds)]
    if len(set(order)) != len(order):
        raise ArtifactError(f"two labels files claim the same round ({order}): {', '.join(map(str, paths))}")
    _refuse_mixed_runs(rounds, paths)
    for r, p, o in zip(rounds, paths, order, strict=False):
        r.attrs["path"], r.attrs["round"] = str(p), o
    return [r for _, r in sorted(zip(order, rounds, strict=False), key=lambda t: t[0])]


def _refuse_mixed_runs(rounds: list[LabelRound], paths: list[str]) -> None:
    """One audit follows one run and seed: files of another run, seed or sample set are refused, named."""
    first = rounds[0]
    for r, p in zip(rounds[1:], paths[1:], strict=False):
        for key in ("run", "seed"):
            if key in first.attrs and key in r.attrs and str(r.attrs[key]) != str(first.attrs[key]):
                raise ArtifactError(
                    f"{p}: {key} {r.attrs[key]!r}, but {paths[0]} has {first.attrs[key]!r}; "
                    "audit the labels files of one run and seed together"
                )
        if len(r.labels) != len(first.labels):
            raise ArtifactError(
                f"{p}: labels {len(r.labels)} samples, but {paths[0]} labels {len(first.labels)}; "
                "audit the labels files of one run and seed together"
            )


def _aligned(a: LabelRound, b: LabelRound) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample ids, labels in a, labels in b) over the samples both rounds label."""
    common, ia, ib = np.intersect1d(a.sample_index, b.sample_index, return_indices=True)
    return common, a.labels[ia], b.labels[ib]


def transition_matrix(a: LabelRound, b: LabelRound) -> np.ndarray:
    """(k_a, k_b) counts: samples in class i of round a and class j of round b."""
    _, la, lb = _aligned(a, b)
    return contingency(la, lb, a.k, b.k)


def sample_history(rounds: list[LabelRound], sample: int) -> pd.DataFrame:
    """One row per round: the class of dataset sample ``sample`` and that class's size and parent."""
    rows = []
    for r in rounds:
        hit = np.flatnonzero(r.sample_index == sample)
        if len(hit) == 0:
            raise ArtifactError(f"{r.attrs.get('path')}: sample {sample} is not labelled in round {r.attrs['round']}")
        c = int(r.labels[hit[0]])
        rows.append(
            {
                "round": int(r.attrs["round"]),
                "sample": sample,
                "label": c,
                "cluster_size": int(r.sizes[c]),
                "parent": int(r.parent[c]),
            }
        )
    return pd.DataFrame(rows)


def moved_samples(a: LabelRound, b: LabelRound) -> pd.DataFrame:
    """Samples whose class differs between rounds a and b: (round_from, round_to, sample, from, to)."""
    ids, la, lb = _aligned(a, b)
    moved = la != lb
    return pd.DataFrame(
        {
            "round_from": int(a.attrs["round"]),
            "round_to": int(b.attrs["round"]),
            "sample": ids[moved],
            "from": la[moved],
            "to": lb[moved],
        }
    )


def relabelling(m: np.ndarray) -> dict[int, int] | None:
    """Old id -> new id when the transition matrix ``m`` is a permutation of the non-empty classes
    (each non-empty row and column has exactly one nonzero), else None."""
    rows, cols = m[m.sum(1) > 0], m[:, m.sum(0) > 0]
    if not (((rows > 0).sum(1) == 1).all() and ((cols > 0).sum(0) == 1).all()):
        return None
    return {int(i): int(j) for i, j in zip(*np.nonzero(m), strict=False)}


def _cycles(mapping: dict[int, int]) -> str:
    """A relabelling in words: swaps as ``0<->1``, longer cycles as ``0->2->1->0``, moves to a free id as ``3->4``."""
    moved = {i: j for i, j in mapping.items() if i != j}
    parts, seen = [], set()
    # Chains start at an id nothing moved into (a move onto an unused id); cycles at their smallest id.
    starts = sorted(i for i in moved if i not in moved.values()) + sorted(moved)
    for start in starts:
        if start in seen:
            continue
        path = [start]
        while path[-1] in moved and moved[path[-1]] not in path:
            path.append(moved[path[-1]])
        seen.update(path)
        closed = path[-1] in moved  # the walk came back to its start
        if closed and len(path) == 2:
            parts.append(f"{path[0]}<->{path[1]}")
        else:
            parts.append("->".join(map(str, path + [path[0]] if closed else path)))
    return ", ".join(parts)


def split_merge_events(a: LabelRound, b: LabelRound, min_share: float = 0.2) -> pd.DataFrame:
    """Splits and merges between rounds a and b (see the module docstring), one row per event."""
    m = transition_matrix(a, b)
    cols = ["round_from", "round_to", "event", "cluster", "into_or_from", "evidence", "members"]
    if relabelling(m) is not None:
        # Only the ids changed: recorded parents (often the identity, or -1) describe ids, not groups.
        return pd.DataFrame([], columns=cols)
    out_share = m / np.maximum(m.sum(1, keepdims=True), 1)  # share of old class i going to new j
    in_share = m / np.maximum(m.sum(0, keepdims=True), 1)  # share of new class j coming from old i
    rows = []
    for i in range(a.k):
        children = set(np.flatnonzero(out_share[i] >= min_share).tolist())
        # A recorded child that got none of i's samples is no branch of i.
        declared = set(np.flatnonzero((b.parent == i) & (m[i] > 0)).tolist())
        # Overlap and parents are two kinds of evidence, each judged alone: one child seen in the
        # overlap plus a different, recorded one is a relabelling, not a split.
        if len(children) >= 2 or len(declared) >= 2:
            evidence = "parent" if len(declared) >= 2 else "overlap"
            rows.append(
                {
                    "round_from": int(a.attrs["round"]),
                    "round_to": int(b.attrs["round"]),
                    "event": "split",
                    "cluster": i,
                    "into_or_from": " ".join(map(str, sorted(children | declared))),
                    "evidence": evidence,
                    "members": int(m[i].sum()),
                }
            )
    for j in range(b.k):
        sources = np.flatnonzero(in_share[:, j] >= min_share)
        if len(sources) >= 2:
            rows.append(
                {
                    "round_from": int(a.attrs["round"]),
                    "round_to": int(b.attrs["round"]),
                    "event": "merge",
                    "cluster": j,
                    "into_or_from": " ".join(map(str, sources.tolist())),
                    "evidence": "overlap",
                    "members": int(m[:, j].sum()),
                }
            )
    return pd.DataFrame(rows, columns=cols)


def transitions_table(rounds: list[LabelRound]) -> pd.DataFrame:
    """Every non-zero transition count between consecutive rounds: (round_from, round_to, from, to, count)."""
    rows = []
    for a, b in zip(rounds, rounds[1:], strict=False):
        m = transition_matrix(a, b)
        for i, j in zip(*np.nonzero(m), strict=False):
            rows.append(
                {
                    "round_from": int(a.attrs["round"]),
                    "round_to": int(b.attrs["round"]),
                    "from": int(i),
                    "to": int(j),
                    "count": int(m[i, j]),
                }
            )
    return pd.DataFrame(rows, columns=["round_from", "round_to", "from", "to", "count"])


def audit_run(paths: list[str], out_dir: str, min_share: float = 0.2) -> dict[str, pd.DataFrame]:
    """Write transitions.csv, moves.csv and events.csv for a run's labels files into ``out_dir``."""
    rounds = load_rounds(paths)
    pairs = list(zip(rounds, rounds[1:], strict=False))
    moves = [moved_samples(a, b) for a, b in pairs]
    events = [split_merge_events(a, b, min_share) for a, b in pairs]
    tables = {
        "transitions": transitions_table(rounds),
        "moves": pd.concat(moves, ignore_index=True) if moves else moved_samples(rounds[0], rounds[0]),
        "events": pd.concat(events, ignore_index=True) if events else split_merge_events(rounds[0], rounds[0]),
    }
    for name, frame in tables.items():
        with atomic_path(Path(out_dir) / f"{name}.csv") as tmp:
            frame.to_csv(tmp, index=False)
    return tables


def summary(rounds: list[LabelRound], min_share: float = 0.2) -> str:
    """A few lines per round pair: how many samples moved, which classes split or merged."""
    lines = []
    for a, b in zip(rounds, rounds[1:], strict=False):
        moved = moved_samples(a, b)
        mapping = relabelling(transition_matrix(a, b))
        if len(moved) and mapping is not None:
            # New ids for the same groups: counting "moves" here would report a stable run as churning.
            lines.append(
                f"round {a.attrs['round']} -> {b.attrs['round']}: relabelled {_cycles(mapping)} "
                f"(a permutation of ids), no sample changed group, k {a.k} -> {b.k}"
            )
            continue
        n = len(_aligned(a, b)[0])
        lines.append(
            f"round {a.attrs['round']} -> {b.attrs['round']}: {len(moved)} of {n} samples moved "
            f"({100.0 * len(moved) / max(n, 1):.1f}%), k {a.k} -> {b.k}"
        )
        for ev in split_merge_events(a, b, min_share).itertuples():
            verb = "split into" if ev.event == "split" else "merged from"
            lines.append(f"  class {ev.cluster} {verb} {ev.into_or_from} ({ev.evidence})")
    return "\n".join(lines)
