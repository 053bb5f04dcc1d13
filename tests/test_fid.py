"""FID/IS by the papers' protocol, end to end on a stand-in Inception.

The stand-in is torch-fidelity's own Inception architecture with seeded random weights, its
BatchNorm statistics set from one forward pass so that features keep their scale, saved where
torch-fidelity's download would put the real file. Everything after that is the real path:
`relabelgan reference-stats` writes the dataset's cached statistics, `relabelgan evaluate-final`
reads them (and only them: editing the file changes the FID), the workflow makes one statistics
job per dataset for all its runs, and a missing weights file stops with the command that fetches it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import relabelgan, snakemake, write_config
from PIL import Image

from relabelgan.metrics.inception import REFERENCE_STATS_NAME, WEIGHTS_NAME

N_IMAGES = 20  # IS needs at least its 10 splits; each image costs ~0.25 s of Inception on one CPU thread


def _stand_in_inception(path: Path) -> None:
    """torch-fidelity's Inception with seeded random weights and BatchNorm statistics of one batch."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    empty = path.parent / "empty.pth"
    torch.save({}, empty)
    load = FeatureExtractorInceptionV3.load_state_dict
    FeatureExtractorInceptionV3.load_state_dict = lambda self, *a, **k: None  # build the layers, load nothing
    try:
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    finally:
        FeatureExtractorInceptionV3.load_state_dict = load
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0  # running statistics := this batch's
    net.train()
    with torch.no_grad():
        net(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)))
    torch.save(net.state_dict(), path)
    empty.unlink()


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("torch_home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    _stand_in_inception(home / "hub" / "checkpoints" / WEIGHTS_NAME)
    return home


def _image_folder(root: Path) -> Path:
    """Two classes of seeded 8x8 RGB images: bright squares and dark noise."""
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(N_IMAGES // 2):
            base = 200 if c == "a" else 40
            pixels = np.clip(base + rng.normal(0, 30, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i}.png")
    return root


def _config(tmp_path: Path) -> dict:
    return {
        "results": "results",
        "seeds": [0],
        "datasets": {
            "folder": {"kind": "imagefolder", "path": str(_image_folder(tmp_path / "images")), "resolution": 8}
        },
        "defaults": {"rounds": 1, "iters_per_phase": 2, "batch_size": 8, "eval_samples": 100, "device": "cpu"},
        "runs": {
            "folder-uncond": {"dataset": "folder", "method": "uncond", "width": 8, "fid": True},
            "folder-acgan": {"dataset": "folder", "method": "acgan", "width": 8, "fid": True},
        },
    }


def test_reference_stats_are_cached_and_read_by_evaluate_final(tmp_path, torch_home, monkeypatch, run_spec_file):
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    config = _config(tmp_path)
    spec = run_spec_file(config, "folder-uncond")
    model = tmp_path / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))

    stats = tmp_path / "reference_stats" / "folder" / REFERENCE_STATS_NAME
    dataset = json.dumps(config["datasets"]["folder"])
    proc = relabelgan("reference-stats", "--dataset", "folder", "--dataset-json", dataset, "--out", str(stats))
    assert f"{N_IMAGES:,} training images" in proc.stdout
    with np.load(stats) as f:
        assert f["mu"].shape == (2048,) and f["sigma"].shape == (2048, 2048)
        assert np.isfinite(f["sigma"]).all() and f["mu"].std() > 0
        assert json.loads(str(f["provenance"]))["n"] == N_IMAGES

    def fid_rows(out: Path) -> dict[str, float]:
        relabelgan(
            "evaluate-final", "--spec", str(spec), "--round", "0", "--model", str(model),
            "--reference-stats", str(stats), "--out", str(out),
        )  # fmt: skip
        import pandas as pd

        rows = pd.read_csv(out)
        return dict(zip(rows["metric"], rows["value"], strict=False))

    first = fid_rows(tmp_path / "final.csv")
    # The papers' protocol by default: as many generated images as the training set, IS over 10 splits.
    assert {f"fid{N_IMAGES}_train", f"is{N_IMAGES}_10splits", f"is{N_IMAGES}_10splits_std"} <= set(first)
    assert first[f"fid{N_IMAGES}_train"] > 0 and math.isfinite(first[f"fid{N_IMAGES}_train"])
    assert first[f"is{N_IMAGES}_10splits"] >= 1.0

    # evaluate-final reads the cached statistics rather than recomputing them: shifting the cached mean
    # by d adds |d|² to the FID (same generated images, same seed).
    with np.load(stats) as f:
        mu, sigma, provenance = f["mu"], f["sigma"], str(f["provenance"])
    shift = np.full_like(mu, 0.5)
    np.savez(stats, mu=mu + shift, sigma=sigma, provenance=provenance)
    second = fid_rows(tmp_path / "final2.csv")
    expected = first[f"fid{N_IMAGES}_train"] + float(shift @ shift)
    assert second[f"fid{N_IMAGES}_train"] != pytest.approx(first[f"fid{N_IMAGES}_train"])
    assert abs(second[f"fid{N_IMAGES}_train"] - expected) < 0.05 * expected


def test_missing_weights_stop_with_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    config = _config(tmp_path)
    out = tmp_path / "stats.npz"
    proc = relabelgan(
        "reference-stats", "--dataset", "folder", "--dataset-json", json.dumps(config["datasets"]["folder"]),
        "--out", str(out), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and not out.exists()
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1
    assert str(tmp_path / "empty_home" / "hub" / "checkpoints" / WEIGHTS_NAME) in message
    assert "curl -L" in message and "fid: false" in message


def test_weights_that_need_unpickling_are_refused(tmp_path, monkeypatch):
    import argparse

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(argparse.Namespace(a=1), tmp_path / "hub" / "checkpoints" / WEIGHTS_NAME)
    config = _config(tmp_path)
    proc = relabelgan(
        "reference-stats", "--dataset", "folder", "--dataset-json", json.dumps(config["datasets"]["folder"]),
        "--out", str(tmp_path / "stats.npz"), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "weights_only=True" in proc.stderr


def test_fid_true_without_reference_stats_is_a_config_error(tmp_path, run_spec_file):
    spec = run_spec_file(_config(tmp_path), "folder-uncond")
    model = tmp_path / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    proc = relabelgan(
        "evaluate-final", "--spec", str(spec), "--round", "0", "--model", str(model), "--out", str(tmp_path / "f.csv"),
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "--reference-stats" in proc.stderr


def test_the_workflow_computes_a_datasets_statistics_once_for_all_its_runs(tmp_path):
    write_config(tmp_path, _config(tmp_path))
    proc = snakemake(tmp_path, "-n", "-p")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, re.M))
    assert counts["reference_stats"] == "1" and counts["evaluate_final"] == "2"
    stats = f"results/reference_stats/folder/{REFERENCE_STATS_NAME}"
    assert proc.stdout.count(f"--reference-stats {stats}") == 2


def test_the_final_rounds_metrics_hold_the_nearest_neighbour_check(tmp_path, run_spec_file):
    """Images: the job that makes the final model also scores its copying (nn_*), earlier rounds do not."""
    config = _config(tmp_path)
    config["runs"]["folder-uncond"]["fid"] = False
    spec = run_spec_file(config, "folder-uncond")
    model = tmp_path / "model.pt"
    relabelgan("init", "--spec", str(spec), "--out", str(model))
    relabelgan(
        "evaluate", "--spec", str(spec), "--round", "0", "--model", str(model), "--out", str(tmp_path / "m0.csv")
    )
    relabelgan(
        "evaluate", "--spec", str(spec), "--round", "1", "--model", str(model), "--out", str(tmp_path / "m1.csv")
    )
    import pandas as pd

    first, final = (set(pd.read_csv(tmp_path / f"m{r}.csv")["metric"]) for r in (0, 1))
    assert not any(m.startswith("nn_") for m in first)
    assert {"nn_gen_median_100", "nn_train_median_100", "nn_ratio_100"} <= final  # eval_samples 100 < nn_samples
