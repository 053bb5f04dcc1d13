"""HDF5 artifacts: round trip, provenance, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from relabelgan.core.artifacts import (
    ArtifactError,
    LabelRound,
    atomic_path,
    provenance,
    read_features,
    read_labels,
    sha256,
    write_features,
    write_labels,
)
from relabelgan.training.checkpoint import load_checkpoint, save_checkpoint


def test_features_round_trip_streamed(tmp_path):
    x = np.random.default_rng(0).normal(size=(1000, 7)).astype(np.float32)
    blocks = (x[i : i + 128] for i in range(0, 1000, 128))
    write_features(
        tmp_path / "f.h5", blocks, n=1000, dim=7, sample_index=np.arange(1000), attrs={"round": 3}, chunk_rows=100
    )
    got, idx, attrs = read_features(tmp_path / "f.h5")
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(idx, np.arange(1000))
    assert attrs["round"] == 3


def test_features_wrong_row_count_leaves_no_file(tmp_path):
    with pytest.raises(ArtifactError, match="expected 10"):
        write_features(tmp_path / "f.h5", np.zeros((9, 2)), n=10, dim=2, sample_index=np.arange(10), attrs={})
    assert list(tmp_path.iterdir()) == []


def test_labels_round_trip_and_provenance(tmp_path):
    src = tmp_path / "features.h5"
    write_features(src, np.ones((6, 2)), n=6, dim=2, sample_index=np.arange(6), attrs={})
    rnd = LabelRound(
        labels=np.array([0, 1, 1, 2, 2, 2]),
        parent=np.array([-1, 0, 0]),
        centroids=np.zeros((3, 2)),
        sample_index=np.arange(6),
        attrs={"method": "selfcond", "round": 1, "source_features": provenance(src)},
    )
    write_labels(tmp_path / "labels.h5", rnd)
    back = read_labels(tmp_path / "labels.h5", n_samples=6)
    np.testing.assert_array_equal(back.labels, rnd.labels)
    np.testing.assert_array_equal(back.parent, rnd.parent)
    np.testing.assert_array_equal(back.sizes, [1, 2, 3])
    source = json.loads(back.attrs["source_features"])
    assert source == {"path": str(src), "sha256": sha256(src)}


def test_labels_of_wrong_length_are_refused_with_the_file_named(tmp_path):
    rnd = LabelRound(np.zeros(5, int), np.array([-1]), np.zeros((1, 0)), np.arange(5))
    write_labels(tmp_path / "labels.h5", rnd)
    with pytest.raises(ArtifactError, match=r"labels\.h5: holds 5 labels but the dataset has 9"):
        read_labels(tmp_path / "labels.h5", n_samples=9)


def test_out_of_range_labels_are_refused():
    with pytest.raises(ArtifactError, match="labels must lie in"):
        LabelRound(np.array([0, 3]), np.array([-1, -1]), np.zeros((2, 0)), np.arange(2))


def test_truncated_hdf5_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "labels.h5"
    write_labels(path, LabelRound(np.zeros(100, int), np.array([-1]), np.zeros((1, 0)), np.arange(100)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=str(path)):
        read_labels(path)


def test_truncated_checkpoint_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"w": torch.ones(1000)})
    assert load_checkpoint(path)["w"].sum() == 1000
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=rf"{path}: cannot load checkpoint"):
        load_checkpoint(path)


def test_checkpoint_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "relabelgan-model/1", "obj": torch.nn.Linear(2, 2)}, path)
    with pytest.raises(ArtifactError, match="cannot load checkpoint"):
        load_checkpoint(path)


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_path_gives_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o644


def test_atomic_path_removes_the_temporary_files_a_killed_writer_left(tmp_path):
    stale = [tmp_path / ".features.h5.abc123.tmp", tmp_path / ".features.h5.zz_9.tmp"]
    others = [tmp_path / ".model.pt.abc123.tmp", tmp_path / "features.h5.keep.tmp"]
    for path in stale + others:
        path.write_bytes(b"x" * 1000)
    with atomic_path(tmp_path / "features.h5") as tmp:
        tmp.write_bytes(b"new")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others), "another artifact's temporary files are not this writer's"
    assert (tmp_path / "features.h5").read_bytes() == b"new"


def test_sigterm_during_a_write_exits_143_and_leaves_no_temporary_file(tmp_path):
    """A command stopped by SIGTERM (SLURM's time limit) unwinds: its open atomic write removes its temp."""
    import signal
    import subprocess
    import sys

    script = (
        "import signal, sys, time\n"
        "from relabelgan.cli import _exit_on_sigterm\n"
        "from relabelgan.core.artifacts import atomic_path\n"
        "signal.signal(signal.SIGTERM, _exit_on_sigterm)\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'x' * 100000)\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "f.h5")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert list(tmp_path.iterdir()) == []


def test_equal_checkpoints_are_byte_identical(tmp_path):
    """Provenance can answer "did my rerun reproduce?": the same tensors give the same sha256."""
    state = {"networks": {"G": {"w": torch.arange(6.0).reshape(2, 3)}}, "iteration": 3}
    save_checkpoint(tmp_path / "a" / "model.pt", state)
    save_checkpoint(tmp_path / "b" / "model.pt", state)
    assert sha256(tmp_path / "a" / "model.pt") == sha256(tmp_path / "b" / "model.pt")
    assert torch.equal(load_checkpoint(tmp_path / "b" / "model.pt")["networks"]["G"]["w"], state["networks"]["G"]["w"])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_device_is_one_line_naming_the_file_and_the_free_space(tmp_path):
    """A real ENOSPC (from /dev/full) inside a write: the artifact is named, no temporary file is left."""
    full_device = r"features\.h5: no space left on the device \(\d+ MiB free in "
    with (
        pytest.raises(ArtifactError, match=full_device),
        atomic_path(tmp_path / "features.h5") as tmp,
        open("/dev/full", "wb") as full,
    ):
        tmp.write_bytes(b"partial")
        full.write(b"x" * 4096)
        full.flush()
    assert list(tmp_path.iterdir()) == []


def test_a_write_past_the_file_size_limit_is_one_line_and_no_crash(tmp_path):
    """A relabel whose labels.h5 outgrows the process's file-size limit (as a disk filling mid-write does):
    exit 2 with one line naming the file, no temporary file, and no SIGSEGV from HDF5 closing the failed
    file at exit (which the process died of before, after printing h5py's error)."""
    import resource
    import signal
    import subprocess
    import sys

    import yaml
    from conftest import tiny_config

    from relabelgan.core.config import resolve_config, run_spec

    n = 40_000  # labels.h5 of n int64 labels: about 320 kB, past the 128 kB limit below
    config = tiny_config()
    config["datasets"]["grid"]["n"] = n
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run_spec(resolve_config(config), "grid-selfcond", 0)))
    x = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    write_features(tmp_path / "f0.h5", x, n, 4, np.arange(n), {"round": 0})
    out = tmp_path / "out"
    out.mkdir()

    def limited() -> None:  # in the child: writes past 128 kB fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, resource.RLIM_INFINITY))

    argv = ["relabelgan", "relabel", "--spec", str(tmp_path / "run.yaml"), "--round", "0"]
    argv += ["--features", str(tmp_path / "f0.h5"), "--out", str(out / "labels.h5")]
    script = f"import sys\nfrom relabelgan.cli import console\nsys.argv = {argv!r}\nconsole()\n"
    proc = subprocess.run(
        [sys.executable, "-B", "-c", script], capture_output=True, text=True, timeout=120, preexec_fn=limited
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("relabelgan relabel: error:")]
    assert len(errors) == 1 and "labels.h5: the file grew past this process's file-size limit" in errors[0], errors
    assert list(out.iterdir()) == []
