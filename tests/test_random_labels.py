"""`random` draws every batch's classes afresh by default, as the reference code's baseline does
(stevliu/self-conditioned-gan clusterers/random_labels.py); `random_labels: fixed` keeps one seeded
class per sample. Checked on the training loop's own draws."""

from __future__ import annotations

import torch
from conftest import tiny_config, write_config

from relabelgan.core.config import load_config, run_spec
from relabelgan.extract import extract_round
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
    extract_round(spec, 0, m0, f0)
    relabel(spec, 0, l0, f0)
    return setup_phase(spec, 1, m0, l0, str(tmp_path / "m1.pt"))


def _draw_with_indices(p):
    """The classes of one real batch, and the samples' own (round 0) labels at the same indices."""
    b = p.batches
    state = b.gen.get_state()
    i = torch.randint(len(b.y_all), (b.batch_size,), device=b.device, generator=b.gen)
    b.gen.set_state(state)
    return b.draw("real_and_fake").y_real, b.y_all[i]


def test_random_labels_are_drawn_per_batch_unless_fixed(tmp_path):
    per_batch = _phase(tmp_path / "a", "random", random_labels="per_batch")
    assert per_batch.batches.sampling.real_labels == "random" and per_batch.batches.sampling.fake_classes == "uniform"
    assert torch.equal(per_batch.batches.fake_weights, torch.ones(9))  # G is sampled uniformly, as it trained
    drawn, own = _draw_with_indices(per_batch)
    assert drawn.shape == own.shape and not torch.equal(drawn, own)

    fixed = _phase(tmp_path / "b", "random", random_labels="fixed")
    assert fixed.batches.sampling.real_labels == "labels" and fixed.batches.sampling.fake_classes == "labels"
    drawn, own = _draw_with_indices(fixed)
    assert torch.equal(drawn, own)


def test_paired_fakes_take_the_real_batchs_classes_and_g_reuses_them(tmp_path):
    """fake_batch: paired is the self-conditioned GAN Trainer's batch: fakes of the real batch's classes."""
    paired = _phase(tmp_path / "p", "selfcond", fake_batch="paired").batches
    d = paired.draw("real_and_fake")
    assert torch.equal(d.y_fake, d.y_real)
    g = paired.draw("fake")
    assert g.z is d.z and g.y_fake is d.y_fake

    independent = _phase(tmp_path / "i", "selfcond", fake_batch="independent").batches
    d = independent.draw("real_and_fake")
    assert d.y_fake.shape == d.y_real.shape and not torch.equal(d.y_fake, d.y_real)
    g = independent.draw("fake")
    assert not torch.equal(g.z, d.z)


def test_auto_fake_batch_is_the_methods_own(tmp_path):
    """`fake_batch: auto` (the default): selfcond and random pair their fakes with the real batch, as the
    reference Trainer; the methods from other papers (acgan here) draw them independently."""

    def paired(phase):
        return phase.batches.sampling.paired

    assert paired(_phase(tmp_path / "s", "selfcond"))
    assert paired(_phase(tmp_path / "r", "random"))
    assert not paired(_phase(tmp_path / "a", "acgan", k=None))
    assert not paired(_phase(tmp_path / "o", "selfcond", fake_batch="independent"))
