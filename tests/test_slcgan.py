"""slcgan: each loss term on constructed inputs, the gradient routing, and the exported labels."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import SLCGAN_RUN, relabelgan, resumed_phase, tiny_config, write_config

from relabelgan.core.artifacts import write_features
from relabelgan.core.config import read_spec
from relabelgan.data import load_dataset
from relabelgan.methods import get_method
from relabelgan.methods.slcgan.objective import (
    SlcGANLoss,
    augment,
    balance_loss,
    cluster_labels,
    consistency_loss,
    hinge_terms,
    load_clusterer,
    mutual_information_loss,
    unary_and_joint,
)
from relabelgan.networks import build_networks, network_arch
from relabelgan.training.checkpoint import load_checkpoint

SLC = SLCGAN_RUN  # also run by the shared end-to-end run (conftest.tiny_run)


def _spec(shape=(2,), k=4, **slc) -> dict:
    return {
        "z_dim": 2,
        "embed_dim": 4,
        "embed_norm": False,
        "width": 8,
        "d_norm": "auto",
        "lr_c": 1e-3,
        "betas": [0.5, 0.999],
        "arch": "auto",
        "slcgan": {
            "adv_weight": 1.0,
            "mi_weight": 1.0,
            "aug_weight": 1.0,
            "balance_weight": 2.0,
            "feature_dim": 16,
            "c_norm": "none",
            "jitter_2d": 0.05,
            "flip": True,
            "crop_pad": 1,
            "jitter": 0.4,
            **slc,
        },
        "_shape": shape,
        "_k": k,
    }


def _built(spec: dict, seed: int = 0):
    """(G, D, a fresh C in train mode, the loss) for a spec from :func:`_spec`."""
    torch.manual_seed(seed)
    arch = network_arch(spec, spec["_shape"], spec["_k"], "projection")
    G, D = build_networks(arch)
    torch.manual_seed(seed + 1)
    C = get_method("slcgan").build_extra_network("C", get_method("slcgan").extra_networks(spec, arch)["C"])
    return G, D, C.train(), SlcGANLoss(spec)


def test_hinge_terms_on_constructed_scores():
    ones = torch.ones(4)
    # Confident and right: every term is zero.
    assert all(v.item() == 0 for v in hinge_terms(2 * ones, 3 * ones, -2 * ones, -5 * ones).values())
    t = hinge_terms(
        torch.tensor([0.0, 2.0]), torch.tensor([0.5, -1.0]), torch.tensor([0.0, -3.0]), torch.tensor([1.0, 0.0])
    )
    assert t["u_real"].item() == pytest.approx((1 + 0) / 2)
    assert t["s_real"].item() == pytest.approx((0.5 + 2) / 2)
    assert t["u_fake"].item() == pytest.approx((1 + 0) / 2)
    assert t["s_fake"].item() == pytest.approx((2 + 1) / 2)


def test_joint_score_is_the_projection_logit_and_unary_ignores_the_label():
    G, D, _, _ = _built(_spec())
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 3, 0, 1])
    u, s = unary_and_joint(D, x, F.one_hot(y, 4).float())
    assert torch.allclose(s, D(x, y).adv, atol=1e-5)
    assert torch.allclose(u, D(x).adv, atol=1e-5)
    u2, s2 = unary_and_joint(D, x, F.one_hot((y + 1) % 4, 4).float())
    assert torch.allclose(u, u2) and not torch.allclose(s, s2)
    # A soft label scores the average of the one-hot scores it mixes (the projection is linear in p).
    p = torch.full((6, 4), 0.25)
    mean_s = torch.stack([unary_and_joint(D, x, F.one_hot(torch.full((6,), c), 4).float())[1] for c in range(4)]).mean(
        0
    )
    assert torch.allclose(unary_and_joint(D, x, p)[1], mean_s, atol=1e-5)


def test_mutual_information_loss_values():
    c = torch.tensor([0, 2])
    assert mutual_information_loss(torch.zeros(2, 5), c).item() == pytest.approx(math.log(5))
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = -(math.log(math.exp(2) / (math.exp(2) + 2)) + math.log(math.e / (math.e + 2))) / 2
    assert mutual_information_loss(logits, c).item() == pytest.approx(expected, rel=1e-6)


def test_g_loss_reports_mi_of_known_clusterer_outputs_and_c_gets_no_gradient():
    spec = _spec(k=4)
    spec["slcgan"]["adv_weight"] = 0.0  # G's loss is the MI term alone
    G, D, C, loss = _built(spec)
    bias = torch.tensor([1.0, 0.0, -1.0, 2.0])
    with torch.no_grad():  # C outputs `bias` for every input
        C.head.weight.zero_()
        C.head.bias.copy_(bias)
    # C's head is constant now; give its body a nonzero path so a leak would show up as a gradient.
    with torch.no_grad():
        C.head.weight.add_(1e-3)
    y = torch.tensor([0, 1, 2, 3, 3, 3])
    g_loss, stats = loss.g_loss(G, D, C, torch.randn(6, 2), y)
    expected = F.cross_entropy(bias.expand(6, 4), y).item()
    assert float(stats["g_mi"]) == pytest.approx(expected, abs=1e-2)
    g_loss.backward()
    assert all(p.grad is None for p in C.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    assert all(p.requires_grad for p in C.parameters())  # unfrozen again afterwards


def test_d_loss_does_not_touch_c_and_c_loss_does_not_touch_d():
    G, D, C, loss = _built(_spec())
    y = torch.randint(4, (8,))
    d_loss, stats = loss.d_loss(G, D, C, torch.randn(8, 2), torch.randn(8, 2), y)
    d_loss.backward()
    assert all(p.grad is None for p in C.parameters())
    assert set(stats) >= {"d_u_real", "d_s_real", "d_u_fake", "d_s_fake"}
    D.zero_grad(set_to_none=True)
    c_loss, c_stats = loss.c_loss(D, C, torch.randn(8, 2), torch.Generator().manual_seed(0))
    c_loss.backward()
    assert all(p.grad is None for p in D.parameters())
    assert all(p.grad is not None for p in C.parameters())
    parts = {"c_adv": loss.adv_weight, "c_aug": loss.aug_weight, "c_balance": loss.balance_weight}
    assert sum(float(c_stats[key]) * w for key, w in parts.items()) == pytest.approx(c_loss.item(), rel=1e-5)


def test_consistency_loss_for_identical_views_is_the_entropy():
    logits = torch.tensor([[0.0, 0.0], [3.0, -1.0]])
    p = logits.softmax(1)
    entropy = -(p * p.log()).sum(1).mean()
    assert consistency_loss(logits, logits).item() == pytest.approx(entropy.item(), rel=1e-6)
    # Confident identical views cost (almost) nothing; disagreeing confident views cost a lot.
    sure = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert consistency_loss(sure, sure).item() == pytest.approx(0.0, abs=1e-6)
    assert consistency_loss(sure, sure.flip(1)).item() > 40
    # Cross-entropy with a given target p: identical views are the minimum over the other view.
    other = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    assert consistency_loss(logits, logits).item() <= consistency_loss(other, logits).item()


def test_balance_loss_is_zero_for_an_even_batch_and_log_k_for_one_cluster():
    sure = 50 * torch.eye(4)
    assert balance_loss(sure).item() == pytest.approx(0.0, abs=1e-6)
    assert balance_loss(torch.zeros(6, 4)).item() == pytest.approx(0.0, abs=1e-6)  # p uniform per sample
    assert balance_loss(sure[[0, 0, 0]]).item() == pytest.approx(math.log(4), rel=1e-6)
    # Clusters 0, 0, 1, 2: p_mean = (1/2, 1/4, 1/4, 0), KL = 1/2 log 2.
    assert balance_loss(sure[[0, 0, 1, 2]]).item() == pytest.approx(0.5 * math.log(2), rel=1e-6)


@pytest.mark.parametrize("balance_weight, direction", [(0.0, -1), (1.0, 0), (2.0, 1)])
def test_c_loss_at_a_constant_assignment_pushes_toward_balance_only_with_enough_balance_weight(
    balance_weight, direction
):
    """The collapse of docs/slcgan.md ("Why C collapsed") in one gradient.

    C's multiple-view loss (eq. 5) is H(p) when C ignores its input, so on its own it drives a
    constant C further into its favourite cluster; KL(p_mean || uniform) = log k - H(p) there,
    so the two cancel at equal weights and only balance_weight > aug_weight lowers the favourite
    cluster's logit (the bias gradient's sign). adv_weight 0 isolates the two terms from D.
    """
    G, D, C, loss = _built(_spec(k=4, adv_weight=0.0, aug_weight=1.0, balance_weight=balance_weight))
    with torch.no_grad():  # C prefers cluster 0 for every input
        C.head.weight.zero_()
        C.head.bias.copy_(torch.tensor([3.0, 0.0, 0.0, 0.0]))
    c_loss, stats = loss.c_loss(D, C, torch.randn(32, 2), torch.Generator().manual_seed(0))
    assert float(stats["c_clusters_in_batch"]) == 1 and float(stats["c_balance"]) > 0.5
    c_loss.backward()
    favourite = C.head.bias.grad[0].item()  # gradient descent moves the logit by -grad
    if direction == 0:
        assert favourite == pytest.approx(0.0, abs=1e-6)
    else:
        assert favourite * direction > 0.05


def test_batchnorm_in_c_learns_from_reals_only_and_its_labels_do_not_depend_on_the_batch():
    G, D, C, loss = _built(_spec(k=4, c_norm="batch"))
    bn = C.penultimate[1]
    assert isinstance(bn, torch.nn.BatchNorm1d)
    before = bn.running_mean.clone()
    loss.g_loss(G, D, C, torch.randn(8, 2), torch.randint(4, (8,)))  # C sees fakes in eval mode
    assert torch.equal(bn.running_mean, before) and C.training
    loss.c_loss(D, C, torch.randn(8, 2), torch.Generator().manual_seed(0))
    assert not torch.equal(bn.running_mean, before)
    x = torch.randn(20, 2)
    assert np.array_equal(cluster_labels(C, x, 20, "cpu"), cluster_labels(C, x, 3, "cpu"))


def test_augmentation_is_seeded_keeps_range_and_is_identity_at_zero_strength():
    images = torch.rand(16, 3, 8, 8) * 2 - 1
    cfg = {"jitter_2d": 0.05, "flip": True, "crop_pad": 2, "jitter": 0.4}
    a = augment(images, torch.Generator().manual_seed(1), cfg)
    b = augment(images, torch.Generator().manual_seed(1), cfg)
    assert torch.equal(a, b) and a.shape == images.shape
    assert a.min() >= -1 and a.max() <= 1 and not torch.equal(a, images)
    off = {"jitter_2d": 0.0, "flip": False, "crop_pad": 0, "jitter": 0.0}
    assert torch.equal(augment(images, torch.Generator().manual_seed(1), off), images)
    points = torch.zeros(4000, 2)
    moved = augment(points, torch.Generator().manual_seed(0), cfg)
    assert 0.04 < moved.std().item() < 0.06  # jitter_2d is the std of the view's offset
    # A pure crop of a constant-per-row image shifts rows by at most crop_pad.
    rows = torch.arange(8.0).view(1, 1, 8, 1).expand(16, 1, 8, 8) / 8
    cropped = augment(rows, torch.Generator().manual_seed(2), {**off, "crop_pad": 2})
    shift = (cropped[:, 0, 4, 0] - rows[:, 0, 4, 0]) * 8
    assert shift.abs().max() <= 2 and shift.abs().max() > 0


def _tiny_slc_config(**extra) -> dict:
    cfg = tiny_config()
    cfg["runs"] = {"grid-slcgan": {**SLC, **extra}}
    return cfg


def test_exported_labels_and_features_are_those_of_c_in_the_checkpoint(tmp_path, run_spec_file):
    spec_path = run_spec_file(_tiny_slc_config(iters_per_phase=6, log_every=3, snapshot_every=3), "grid-slcgan")
    spec = read_spec(spec_path)
    x = load_dataset(spec["dataset_spec"], spec["dataset"]).x
    r0, r1 = tmp_path / "r0", tmp_path / "r1"
    s = ["--spec", str(spec_path)]
    # As the workflow runs it: init and the phase write features.h5 (with argmax C(x)) themselves.
    relabelgan(
        "init",
        *s,
        "--out",
        str(r0 / "model.pt"),
        "--features",
        str(r0 / "features.h5"),
        "--metrics",
        str(r0 / "metrics.csv"),
    )
    relabelgan("relabel", *s, "--round", "0", "--features", str(r0 / "features.h5"), "--out", str(r0 / "labels.h5"))
    relabelgan(
        "train",
        *s,
        "--round",
        "1",
        "--model-in",
        str(r0 / "model.pt"),
        "--labels",
        str(r0 / "labels.h5"),
        "--out",
        str(r1 / "model.pt"),
        "--log",
        str(r1 / "train_log.csv"),
        "--samples",
        str(r1 / "samples.png"),
        "--features",
        str(r1 / "features.h5"),
        "--metrics",
        str(r1 / "metrics.csv"),
    )
    relabelgan(
        "relabel",
        *s,
        "--round",
        "1",
        "--features",
        str(r1 / "features.h5"),
        "--previous",
        str(r0 / "labels.h5"),
        "--out",
        str(r1 / "labels.h5"),
    )
    C0 = load_clusterer(load_checkpoint(r0 / "model.pt"))
    C1 = load_clusterer(load_checkpoint(r1 / "model.pt"))
    assert any(
        not torch.equal(a, b) for a, b in zip(C0.state_dict().values(), C1.state_dict().values(), strict=False)
    ), "C was trained"
    for d, C in ((r0, C0), (r1, C1)):
        with torch.no_grad():
            logits, feats = C(x), C.features(x)
        with h5py.File(d / "labels.h5") as f:
            assert np.array_equal(f["labels"][...], logits.argmax(1).numpy())
            assert f.attrs["method"] == "slcgan" and f.attrs["labels_from"] == "argmax C(x)"
            assert f["centroids"].shape == (9, feats.shape[1])
        with h5py.File(d / "features.h5") as f:
            assert f.attrs["layer"] == "clusterer_penultimate"
            np.testing.assert_allclose(f["features"][...], feats.numpy(), rtol=1e-5, atol=1e-6)
    state = load_checkpoint(r1 / "model.pt")
    assert state["optimizers"]["C"] is not None and torch.equal(state["method_state"]["class_sizes"], torch.ones(9))
    log = pd.read_csv(r1 / "train_log.csv")
    assert {"c_adv", "c_aug", "g_mi", "d_u_real"} <= set(log.columns)
    # Features made by D (no argmax C(x) column) are refused with the file named, nothing written.
    other = tmp_path / "d_features.h5"
    write_features(other, np.zeros((len(x), 3), np.float32), len(x), 3, np.arange(len(x)), {"run": spec["name"]})
    bad = relabelgan(
        "relabel", *s, "--round", "0", "--features", str(other), "--out", str(tmp_path / "x.h5"), check=False
    )
    assert bad.returncode == 2 and str(other) in bad.stderr and "assigned" in bad.stderr
    assert not (tmp_path / "x.h5").exists()


def test_resume_restores_c_and_its_optimizer(tmp_path):
    """A phase continued from an in-phase snapshot ends with the same G, D and C as an uninterrupted one."""
    from relabelgan.core.config import load_config, run_spec
    from relabelgan.extract import extract_round
    from relabelgan.initialise import init_model
    from relabelgan.relabel import relabel

    cfg_path = write_config(tmp_path, _tiny_slc_config(iters_per_phase=8, snapshot_every=4, log_every=4))
    spec = run_spec(load_config(cfg_path), "grid-slcgan", 0)
    r0 = tmp_path / "r0"
    model, feats, labels = str(r0 / "model.pt"), str(r0 / "features.h5"), str(r0 / "labels.h5")
    init_model(spec, model)
    extract_round(spec, 0, model, feats)
    relabel(spec, 0, labels, feats)

    # The state after 4 of 8 iterations, saved as the phase's resume.pt (what SIGTERM would leave).
    assert spec["iters_per_phase"] == 8
    full, snap, resumed = resumed_phase(spec, model, labels, tmp_path)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(snap["networks"]["C"].values(), full["networks"]["C"].values(), strict=False)
    )
    for key, value in full["networks"]["C"].items():
        assert torch.allclose(value, resumed["networks"]["C"][key], atol=1e-6), key
    for key, value in full["networks"]["G"].items():
        assert torch.allclose(value.float(), resumed["networks"]["G"][key].float(), atol=1e-6), key
    assert full["optimizers"]["C"]["state"][0]["step"] == resumed["optimizers"]["C"]["state"][0]["step"] == 8


@pytest.mark.e2e
def test_snakemake_end_to_end_with_an_slcgan_run(tiny_run):
    run = tiny_run / "results" / "grid-slcgan" / "seed0"
    for r in range(3):
        with h5py.File(run / f"round_{r:02d}" / "labels.h5") as f:
            assert f.attrs["method"] == "slcgan" and f["labels"].shape == (1000,)
            assert f"round_{r:02d}/model.pt" in f.attrs["source_model"]
    metrics = pd.read_csv(tiny_run / "results" / "metrics.csv")
    assert {"modes_1k", "labels_nmi"} <= set(metrics[metrics["run"] == "grid-slcgan"]["metric"])
