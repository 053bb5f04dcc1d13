"""Pre-emption and orphan detection for a running phase: SIGTERM/SIGINT become a flag the loop checks
between iterations, and a phase whose launcher died stops the same way (snapshot, exit 143)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

SIGTERM_EXIT = 143


class Preempted:
    """Turns SIGTERM (a batch system's pre-emption) and SIGINT (Ctrl-C) into a flag the loop checks
    between iterations, so either ends the phase with a snapshot."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> Preempted:
        self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)


SHELLS = {"sh", "bash", "dash", "zsh"}


def _proc_field(pid: int, name: str) -> str | None:
    """``comm`` or the parent pid of a process, from /proc (None where there is no /proc or no such process)."""
    try:
        if name == "comm":
            return Path(f"/proc/{pid}/comm").read_text().strip()
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]  # field 4: ppid
    except (OSError, IndexError):
        return None


class Launcher:
    """The process that started this phase (Snakemake, or whoever ran the command), past the job's shell.

    Killing Snakemake with SIGKILL leaves its jobs running; a phase that notices its launcher is gone
    stops as on SIGTERM (snapshot, exit 143) instead of training on as an orphan that a rerun would
    duplicate. Checked every ``every_s`` seconds; without /proc, only a change of parent is noticed.
    """

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s, self.last = every_s, time.monotonic()
        self.parent = os.getppid()
        self.launcher = self.parent
        if _proc_field(self.parent, "comm") in SHELLS:  # `bash -c 'set -euo pipefail; relabelgan ...'`
            grandparent = _proc_field(self.parent, "ppid")
            self.launcher = int(grandparent) if grandparent and int(grandparent) > 1 else self.parent

    def gone(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return False
        self.last = now
        if os.getppid() != self.parent:
            return True
        try:
            os.kill(self.launcher, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, owned by another user
            return False
        return False
