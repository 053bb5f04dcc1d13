"""The generation figures' cells are what they claim: interpolation end points are G at the two draws,
a fixed-z row is one z across the classes, nearest neighbours are of the sample's class and nearest."""

from __future__ import annotations

import numpy as np
import torch
from conftest import relabelgan, tiny_config, write_config

from relabelgan.core.config import load_config, run_spec
from relabelgan.initialise import init_round
from relabelgan.report.generation import fixed_z, interpolation, nearest
from relabelgan.training.checkpoint import load_checkpoint, load_networks
from relabelgan.training.round_outputs import RoundOutputs
from relabelgan.training.samples import forward


def _digits_cgan(tmp_path):
    """An initialised digits cgan (G conditioned on the 10 digits), its features.h5 and its labels."""
    config = tiny_config()
    config["runs"] = {"d": {"dataset": "digits", "method": "cgan", "arch": "dcgan", "width": 4}}
    spec = run_spec(load_config(write_config(tmp_path, config)), "d", 0)
    model, features = tmp_path / "model.pt", tmp_path / "features.h5"
    init_round(spec, str(model), RoundOutputs(str(features), str(tmp_path / "m.json")))
    relabelgan("resolve", "--config", str(tmp_path / "config.yaml"), "--run", "d", "--seed", "0",
               "--out", str(tmp_path / "run.yaml"))  # fmt: skip
    relabelgan("relabel", "--spec", str(tmp_path / "run.yaml"), "--round", "0", "--features", str(features),
               "--out", str(tmp_path / "labels.h5"))  # fmt: skip
    G, _ = load_networks(load_checkpoint(model))
    return spec, G, model, features


def test_interpolation_and_fixed_z_cells_are_g_at_the_stated_inputs(tmp_path):
    spec, G, _, _ = _digits_cgan(tmp_path)
    classes, z_dim = [3, 7, 0], spec["z_dim"]
    images, z_a, z_b = interpolation(G, classes, z_dim, steps=5, seed=1)
    assert images.shape[:2] == (3, 5)
    y = torch.tensor(classes)
    torch.testing.assert_close(images[:, 0], forward(G, z_a, y))
    torch.testing.assert_close(images[:, -1], forward(G, z_b, y))
    torch.testing.assert_close(images[:, 2], forward(G, (z_a + z_b) / 2, y))  # t = 0.5
    rows, z = fixed_z(G, classes, z_dim, n_z=4, seed=2)
    assert rows.shape[:2] == (4, 3)
    for i in range(4):
        torch.testing.assert_close(rows[i], forward(G, z[i].expand(3, -1), y))
    assert not torch.allclose(rows[0, 0], rows[0, 1])  # the class changes the sample


def test_nearest_neighbours_are_of_the_samples_class_and_nearest():
    rng = np.random.default_rng(0)
    real = torch.as_tensor(rng.uniform(-1, 1, (60, 1, 4, 4)), dtype=torch.float32)
    real_classes = np.repeat([0, 1, 2], 20)
    real_features = rng.normal(size=(60, 5))
    samples = real[[5, 25]] + 0.01  # near real image 5 (class 0) and 25 (class 1)
    sample_features = real_features[[45, 25]]  # in feature space: real 45 (class 2!) and 25
    by_pixels, by_features = nearest(samples, sample_features, np.array([0, 1]), real, real_features, real_classes, 3)
    assert by_pixels[0, 0] == 5 and by_pixels[1, 0] == 25
    assert set(by_pixels[0]) <= set(range(20)) and set(by_features[0]) <= set(range(20))  # class 0 only
    assert by_features[1, 0] == 25
    l1 = np.abs(real[:20].flatten(1).numpy() - samples[0].flatten().numpy()).sum(1)
    assert np.array_equal(by_pixels[0], np.argsort(l1, kind="stable")[:3])


def test_the_command_writes_the_three_figures(tmp_path):
    _, _, model, features = _digits_cgan(tmp_path)
    out = tmp_path / "generation"
    relabelgan("generation", "--spec", str(tmp_path / "run.yaml"), "--model", str(model),
               "--labels", str(tmp_path / "labels.h5"), "--features", str(features), "--out-dir", str(out))  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["fixed_z.png", "interpolation.png", "nearest.png"]
    assert all(p.stat().st_size > 2000 for p in out.iterdir())
