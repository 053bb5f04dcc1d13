"""The `relabelgan` command line as a user meets it: --version, an example in every command's help,
range checks on numeric options, and no traceback when its output is piped into `head`."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import BIN, relabelgan

from relabelgan.cli import COMMANDS
from relabelgan.core.artifacts import LabelRound, write_labels


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    proc = relabelgan("--version")
    assert proc.stdout.strip() == f"relabelgan {version('relabelgan')}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_ends_with_an_example_of_itself(name):
    help_text = relabelgan(name, "--help").stdout
    example = help_text.split("example:\n", 1)[1].strip()
    assert example.startswith(f"relabelgan {name} ")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["audit", "x.h5", "--min-share", "5"], "--min-share: 5 is out of range; give a number in (0, 1]"),
        (["audit", "x.h5", "--min-share", "0"], "--min-share: 0 is out of range"),
        (["audit", "x.h5", "--sample", "-1"], "--sample: -1 is out of range; give an integer >= 0"),
        (["audit", "x.h5", "--moved", "one"], "--moved: 'one' is not an integer"),
        (["extract", "--spec", "s", "--round", "-2", "--model", "m", "--out", "o"], "--round: -2 is out of range"),
    ],
)
def test_out_of_range_options_exit_2_naming_the_option(args, named):
    proc = relabelgan(*args, check=False)
    assert proc.returncode == 2
    assert named in proc.stderr


def test_output_piped_into_head_ends_quietly(tmp_path):
    """`relabelgan audit ... --moved 0 | head -1`: far more rows than a pipe buffers, reader gone after one."""
    n = 200_000
    for rnd, labels in enumerate([np.zeros(n, int), np.ones(n, int)]):
        parent = np.array([-1]) if rnd == 0 else np.array([-1, 0])
        write_labels(
            tmp_path / f"r{rnd}.h5",
            LabelRound(labels, parent, np.zeros((len(parent), 2), np.float32), np.arange(n), {"round": rnd}),
        )
    audit = subprocess.Popen(
        [str(BIN / "relabelgan"), "audit", str(tmp_path / "r0.h5"), str(tmp_path / "r1.h5"), "--moved", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert audit.stdout.readline()  # the table's header: the audit started writing
    audit.stdout.close()  # what `head -1` does after its line
    _, err = audit.communicate(timeout=120)
    assert audit.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err
