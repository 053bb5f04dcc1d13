"""Progress of the long steps, so a live job can be told from a hung one.

- :class:`Progress`: a loop over a known number of items (a phase's iterations, extraction's
  images). On a terminal it shows a tqdm bar; otherwise (a job's log file) it writes one status
  line every ``every_s`` seconds and at the end, e.g.
  ``phase 2: 400/800 (50%) 12.3 it/s ETA 0:00:32 | d_loss 1.23 g_loss 0.567``.
- :class:`Stages`: a step made of a few heavy stages (evaluation): one line per finished stage.

Lines go to stdout, flushed, which the workflow's rules send to the job's log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta

import numpy as np
from tqdm import tqdm

# Log-row keys that are bookkeeping, not losses.
_NOT_STATS = ("round", "iteration", "seconds")


def _on_terminal() -> bool:
    return sys.stdout.isatty()


def format_stats(stats: Mapping[str, float] | None) -> str:
    """``d_loss 1.23 g_loss 0.567`` from a log row (bookkeeping keys left out)."""
    if not stats:
        return "no losses logged yet"
    return " ".join(f"{k} {float(v):.4g}" for k, v in stats.items() if k not in _NOT_STATS)


class Progress:
    """Status lines every ``every_s`` seconds (and at ``total``), or a tqdm bar on a terminal."""

    def __init__(self, what: str, total: int, done: int = 0, every_s: float = 10.0, unit: str = "it") -> None:
        self.what, self.total, self.unit, self.every_s = what, total, unit, every_s
        self.start_done = done
        self.t0 = self.last = time.perf_counter()
        self.bar = tqdm(total=total, initial=done, desc=what, unit=unit, file=sys.stdout) if _on_terminal() else None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, done: int, stats: Mapping[str, float] | None = None) -> None:
        """``done`` items of ``total`` are finished; ``stats``: the latest logged losses, if any."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            if stats:
                self.bar.set_postfix_str(format_stats(stats), refresh=False)
            return
        now = time.perf_counter()
        if now - self.last < self.every_s and done < self.total:
            return
        self.last = now
        print(self.status(done, now, stats), flush=True)

    def status(self, done: int, now: float, stats: Mapping[str, float] | None = None) -> str:
        """One status line: done/total, rate since this process started, ETA, latest losses."""
        rate = (done - self.start_done) / max(now - self.t0, 1e-9)
        eta = timedelta(seconds=round((self.total - done) / rate)) if rate > 0 else "?"
        line = f"{self.what}: {done}/{self.total} ({100 * done / max(self.total, 1):.0f}%) {rate:.1f} {self.unit}/s ETA {eta}"
        return line + (f" | {format_stats(stats)}" if stats is not None else "")


def track_rows(
    blocks: Iterable[np.ndarray], what: str, total: int, every_s: float, unit: str = "rows"
) -> Iterator[np.ndarray]:
    """Pass blocks of rows through unchanged, reporting how many of ``total`` rows have gone by."""
    with Progress(what, total, every_s=every_s, unit=unit) as progress:
        done = 0
        for block in blocks:
            yield block
            done += len(block)
            progress.update(done)


class Stages:
    """One line per finished stage of a step: ``evaluate round 2: 50,000 samples generated (1.2 s, 3.4 s in all)``."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.t0 = self.last = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        print(f"{self.what}: {stage} ({now - self.last:.1f} s, {now - self.t0:.1f} s in all)", flush=True)
        self.last = now
