"""A phase's log says where the phase is: status lines with iteration/total, it/s, ETA and the latest losses.

Runs a real (tiny) phase and extraction in-process; what they print to stdout is what the
workflow's rules send to the job's log (``> {log} 2>&1``). Off a terminal there is no bar.
"""

from __future__ import annotations

import re

from conftest import tiny_config, write_config

from relabelgan.core.config import load_config, run_spec
from relabelgan.core.progress import Progress
from relabelgan.extract import extract_round
from relabelgan.initialise import init_model
from relabelgan.relabel import relabel
from relabelgan.training.loop import train_phase

STATUS = re.compile(r"^phase 1: (\d+)/20 \(\d+%\) [\d.]+ it/s ETA (\d+:\d\d:\d\d|\?) \| (.*)$")


def test_phase_and_extraction_logs_have_status_lines(tmp_path, capfd):
    write_config(tmp_path, tiny_config())
    spec = run_spec(load_config(tmp_path / "config.yaml"), "grid-uncond", 0)
    spec.update(progress_every=0, iters_per_phase=20, log_every=10)  # progress_every 0: a line after every step
    n = spec["dataset_spec"]["n"]
    init_model(spec, str(tmp_path / "m0.pt"))
    extract_round(spec, 0, str(tmp_path / "m0.pt"), str(tmp_path / "f0.h5"))
    relabel(spec, 0, str(tmp_path / "l0.h5"), str(tmp_path / "f0.h5"))
    capfd.readouterr()
    train_phase(
        spec,
        1,
        str(tmp_path / "m0.pt"),
        str(tmp_path / "l0.h5"),
        str(tmp_path / "m1.pt"),
        str(tmp_path / "log.csv"),
        str(tmp_path / "s.png"),
    )
    lines = [m for m in map(STATUS.match, capfd.readouterr().out.splitlines()) if m]
    assert [int(m.group(1)) for m in lines] == list(range(1, 21))
    assert lines[0].group(3) == "no losses logged yet"  # log_every 10: no losses before iteration 10
    assert re.fullmatch(r"d_loss \S+ g_loss \S+.*", lines[-1].group(3)), lines[-1].group(3)

    extract_round(spec, 1, str(tmp_path / "m1.pt"), str(tmp_path / "f1.h5"))
    assert re.search(rf"^extract round 1: {n}/{n} \(100%\) [\d.]+ samples/s ETA 0:00:00$", capfd.readouterr().out, re.M)


def test_status_lines_wait_for_the_interval_but_always_report_the_end(capsys):
    progress = Progress("phase 3", total=500, done=100, every_s=3600)
    for i in range(101, 501):
        progress.update(i, {"round": 3, "iteration": i, "d_loss": 1.5, "g_loss": 0.25, "seconds": 1.0})
    out = capsys.readouterr().out.splitlines()
    assert (
        len(out) == 1 and out[0].startswith("phase 3: 500/500 (100%)") and out[0].endswith("| d_loss 1.5 g_loss 0.25")
    )
