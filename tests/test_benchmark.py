"""The benchmark script runs end to end (`--quick`) and prints every section. No timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import BIN, REPO

SECTIONS = ("machine", "training", "extraction", "kmeans", "hungarian", "hdf5", "snakemake", "overhead")


@pytest.mark.e2e
def test_quick_benchmark_prints_every_section():
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark.py"), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout
    for section in SECTIONS:
        assert f"== {section} ==" in out, f"section {section!r} missing:\n{out}"
    # Each measuring section reports a number with its unit, not just a header.
    for unit in ("it/s", "images/s", "inertia", "ms", "MB/s", "jobs/s", "% of the phase"):
        assert unit in out, f"no {unit!r} figure in:\n{out}"
