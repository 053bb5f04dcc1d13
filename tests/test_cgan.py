"""cgan's discriminator: the projection D by default, or one real/fake logit per class (`d_conditioning:
heads`), the self-conditioned GAN's class-conditional row (its Table 2)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config

from relabelgan.core.config import resolve_config, run_spec
from relabelgan.initialise import init_model


def _cgan_spec(**keys) -> dict:
    config = tiny_config()
    config["runs"] = {"run": {"dataset": "digits", "method": "cgan", "arch": "dcgan", "width": 4, **keys}}
    return run_spec(resolve_config(config), "run", 0)


@pytest.mark.parametrize("keys, conditioning", [({}, "projection"), ({"d_conditioning": "heads"}, "heads")])
def test_cgan_builds_the_discriminator_its_run_names(tmp_path, keys, conditioning):
    state, networks, data = init_model(_cgan_spec(**keys), str(tmp_path / "model.pt"))
    D = networks["D"].eval()
    assert state["arch"]["conditioning"] == conditioning
    x, y = data.x[:4], torch.tensor([0, 3, 3, 9])
    with torch.no_grad():
        adv, logits = D(x, y).adv, D.adv(D.features(x))
    if conditioning == "heads":
        # one logit per class, and the one of each sample's class is its real/fake logit
        assert logits.shape == (4, data.n_classes) and D.proj is None
        torch.testing.assert_close(adv, logits[torch.arange(4), y])
    else:
        assert logits.shape == (4, 1) and D.proj is not None
        torch.testing.assert_close(adv, logits[:, 0] + (D.proj(y) * D.features(x)).sum(1))
