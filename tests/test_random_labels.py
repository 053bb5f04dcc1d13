"""`random` draws every batch's classes afresh by default, as the reference code's baseline does
(stevliu/self-conditioned-gan clusterers/random_labels.py); `random_labels: fixed` keeps one seeded
class per sample. Checked on the training loop's own draws."""

from __future__ import annotations

import torch
from conftest import tiny_config, write_config

from relabelgan.core.config import load_config, run_spec
from relabelgan.extract import extract_features
from relabelgan.initialise import init_model
from relabelgan.relabel import relabel
from relabelgan.training.loop import setup_phase


def _phase(tmp_path, method: str, **keys):
    """Phase 1 of a one-run tiny config (grid, k = 9) with the given run keys, ready to draw batches."""
    cfg = tiny_config()
    run = {"dataset": "grid", "method": method, "k": 9, **keys}
    cfg["runs"] = {f"grid-{method}": {key: value for key, value in run.items() if value is not None}}  # None: unset
    spec = run_spec(load_config(write_config(tmp_path, cfg)), f"grid-{method}", 0)
    m0, f0, l0 = (str(tmp_path / name) for name in ("m0.pt", "f0.h5", "l0.h5"))
    init_model(spec, m0)
    extract_features(spec, 0, m0, f0)
    relabel(spec, 0, l0, f0)
    return setup_phase(spec, 1, m0, l0, str(tmp_path / "m1.pt"))


def _draw_with_indices(p):
    """The classes of one real batch, and the samples' own (round 0) labels at the same indices."""
    state = p.gen.get_state()
    i, own = p.draw_indices()
    p.gen.set_state(state)
    return p.draw()[1], own


def test_random_labels_are_drawn_per_batch_unless_fixed(tmp_path):
    per_batch = _phase(tmp_path / "a", "random", random_labels="per_batch")
    assert per_batch.labels_per_batch and per_batch.uniform_fakes
    assert torch.equal(per_batch.fake_weights, torch.ones(9))  # G is sampled uniformly, as it trained
    drawn, own = _draw_with_indices(per_batch)
    assert drawn.shape == own.shape and not torch.equal(drawn, own)

    fixed = _phase(tmp_path / "b", "random", random_labels="fixed")
    assert not fixed.labels_per_batch and not fixed.uniform_fakes
    drawn, own = _draw_with_indices(fixed)
    assert torch.equal(drawn, own)


def test_paired_fakes_take_the_real_batchs_classes_and_g_reuses_them(tmp_path):
    """fake_batch: paired is the self-conditioned GAN Trainer's batch: fakes of the real batch's classes."""
    paired = _phase(tmp_path / "p", "selfcond", fake_batch="paired")
    _, y_real = paired.draw()
    z, y_fake = paired.d_fakes(y_real)
    assert torch.equal(y_fake, y_real)
    z_g, y_g = paired.g_fakes((z, y_fake))
    assert z_g is z and y_g is y_fake

    independent = _phase(tmp_path / "i", "selfcond", fake_batch="independent")
    _, y_real = independent.draw()
    z, y_fake = independent.d_fakes(y_real)
    assert y_fake.shape == y_real.shape and not torch.equal(y_fake, y_real)
    z_g, y_g = independent.g_fakes((z, y_fake))
    assert not torch.equal(z_g, z)


def test_auto_fake_batch_is_the_methods_own(tmp_path):
    """`fake_batch: auto` (the default): selfcond and random pair their fakes with the real batch, as the
    reference Trainer; the methods from other papers (acgan here) draw them independently."""
    assert _phase(tmp_path / "s", "selfcond").paired_fakes
    assert _phase(tmp_path / "r", "random").paired_fakes
    assert not _phase(tmp_path / "a", "acgan", k=None).paired_fakes
    assert not _phase(tmp_path / "o", "selfcond", fake_batch="independent").paired_fakes
