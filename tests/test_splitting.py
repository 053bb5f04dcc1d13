"""Class-splitting GAN: the split relabel step, the class tree, the exact surgery, end to end."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from conftest import SPLIT_RUN, snakemake, tiny_config, write_config

from relabelgan.core.artifacts import LabelRound, read_labels, write_features
from relabelgan.core.config import read_spec
from relabelgan.data import load_dataset
from relabelgan.methods.splitting import split_classes
from relabelgan.methods.splitting.surgery import grow_checkpoint, tree_from_rounds
from relabelgan.networks import build_networks, network_arch
from relabelgan.networks.class_tree import ClassTree, TreeBatchNorm
from relabelgan.relabel import relabel
from relabelgan.training.checkpoint import load_checkpoint, load_networks
from relabelgan.training.losses import WGANGPLoss

KMEANS = {"backend": "sklearn", "n_init": 2, "max_iter": 100, "subset": 10000}


def _perturbed_state(kind: str, shape: tuple[int, ...], k: int) -> dict:
    """A splitting checkpoint whose every conditional parameter and BN statistic is non-trivial."""
    torch.manual_seed(0)
    spec = {"arch": kind, "z_dim": 8, "embed_dim": 4, "embed_norm": False, "width": 8, "d_norm": "auto"}
    arch = network_arch(spec, shape, k, "ac", class_tree=ClassTree.roots(k).to_record())
    G, D = build_networks(arch)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, TreeBatchNorm):
                m.node_gain.normal_(1.0, 0.5)
                m.node_bias.normal_(0.0, 0.5)
                m.norm.running_mean.normal_()
                m.norm.running_var.uniform_(0.5, 2.0)
        D.cls.weight.normal_()
        D.cls.bias.normal_()
    # One real optimiser step, so the checkpoint carries Adam moments to grow.
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    z, y = torch.randn(6, 8), torch.arange(6) % k
    real = torch.randn((6, *shape))
    loss = WGANGPLoss()
    d_loss, _ = loss.d_loss(G, D, real, y, z, y)
    d_loss.backward()
    opt_D.step()
    g_loss, _ = loss.g_loss(G, D, z, y)
    g_loss.backward()
    opt_G.step()
    return {
        "arch": arch,
        "networks": {"G": G.state_dict(), "D": D.state_dict()},
        "optimizers": {"G": opt_G.state_dict(), "D": opt_D.state_dict()},
        "iteration": 1,
        "method_state": {},
    }


def _split_labels(parent: list[int]) -> LabelRound:
    k = len(parent)
    return LabelRound(np.arange(k), np.array(parent), np.zeros((k, 0), np.float32), np.arange(k))


@pytest.mark.parametrize("kind,shape", [("resnet_small", (1, 8, 8)), ("mlp", (2,)), ("dcgan", (1, 8, 8))])
def test_children_start_as_exact_copies_of_their_parent(kind, shape):
    state = _perturbed_state(kind, shape, k=2)
    # Class 0 splits in two, class 1 stays; then the second child of 0 splits again.
    for parent in ([0, 0, 1], [0, 1, 1, 2]):
        G_old, D_old = load_networks(state)
        G_old.eval()
        D_old.eval()
        grown = grow_checkpoint(state, _split_labels(parent))
        G_new, D_new = load_networks(grown)
        G_new.eval()
        D_new.eval()
        assert G_new.n_classes == len(parent) and D_new.cls.out_features == len(parent)
        z = torch.randn(16, 8)
        x = torch.randn((16, *shape))
        with torch.no_grad():
            old_logits, new_logits = D_old(x).cls, D_new(x).cls
            # Equal up to float32 rounding (matmuls of another width may sum in another order).
            for child, p in enumerate(parent):
                torch.testing.assert_close(
                    G_new(z, torch.full((16,), child)), G_old(z, torch.full((16,), p)), rtol=1e-5, atol=1e-5
                )
                torch.testing.assert_close(new_logits[:, child], old_logits[:, p], rtol=1e-5, atol=1e-5)
        # Before the next split, let the children drift apart as training would.
        with torch.no_grad():
            for m in G_new.modules():
                if isinstance(m, TreeBatchNorm):
                    m.node_gain.add_(0.1 * torch.randn_like(m.node_gain))
        state = {**grown, "networks": {**grown["networks"], "G": G_new.state_dict()}}


def test_adam_moments_follow_the_grown_rows():
    state = _perturbed_state("resnet_small", (1, 8, 8), k=2)
    grown = grow_checkpoint(state, _split_labels([0, 0, 1]))
    G, D = load_networks(grown)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_G.load_state_dict(grown["optimizers"]["G"])  # shapes must fit the grown parameters
    opt_D.load_state_dict(grown["optimizers"]["D"])
    names = [n for n, _ in D.named_parameters()]
    old_cls = state["optimizers"]["D"]["state"][names.index("cls.weight")]["exp_avg_sq"]
    new_cls = grown["optimizers"]["D"]["state"][names.index("cls.weight")]["exp_avg_sq"]
    torch.testing.assert_close(new_cls, old_cls[[0, 0, 1]])
    # The new tree nodes (2 and 3, children of node 0) start with zero deltas and node 0's moments.
    g_names = [n for n, _ in G.named_parameters()]
    gain = next(n for n in g_names if n.endswith("node_gain"))
    assert torch.all(grown["networks"]["G"][gain][2:] == 0)
    moments = grown["optimizers"]["G"]["state"][g_names.index(gain)]["exp_avg_sq"]
    torch.testing.assert_close(moments[2:], moments[[0, 0]])
    # One more training step runs on the grown model.
    loss = WGANGPLoss()
    z, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    g_loss, _ = loss.g_loss(G, D, z, y)
    g_loss.backward()
    opt_G.step()


def _two_blob_features(rng, n: int, centre: float) -> np.ndarray:
    side = rng.integers(0, 2, size=n)
    return (np.where(side[:, None] == 1, centre, -centre) + 0.05 * rng.standard_normal((n, 4))).astype(np.float32), side


@pytest.mark.parametrize("normalise", ["l2", "batch_axis", "none"])
def test_split_only_above_threshold(normalise):
    rng = np.random.default_rng(0)
    sizes = [50, 30, 31, 5]  # threshold 30: classes of 50 and 31 split, 30 and 5 stay
    labels = np.repeat(np.arange(4), sizes)
    feats, sides = [], []
    for c, n in enumerate(sizes):
        f, s = _two_blob_features(rng, n, centre=1.0 + c)
        feats.append(f)
        sides.append(s)
    features, side = np.concatenate(feats), np.concatenate(sides)
    previous = LabelRound(labels, np.full(4, -1), np.zeros((4, 0), np.float32), np.arange(len(labels)))
    new = split_classes(features, previous, threshold=30, normalise=normalise, seed=1, kmeans=KMEANS)
    assert new.parent.tolist() == [0, 0, 1, 2, 2, 3]
    assert json.loads(new.attrs["split_classes"]) == [0, 2]
    for old_class, n in enumerate(sizes):
        kids = np.flatnonzero(new.parent == old_class)
        members = labels == old_class
        # Every sample stays inside its parent's children, and no child is empty.
        assert set(np.unique(new.labels[members])) == set(kids.tolist())
        assert np.all(np.bincount(new.labels, minlength=new.k)[kids] > 0)
        if n <= 30:
            assert len(kids) == 1
        else:
            # The two blobs are recovered exactly (up to which child gets which blob).
            agree = np.mean((new.labels[members] == kids[0]) == (side[members] == 0))
            assert agree in (0.0, 1.0)
    assert new.centroids.shape == (6, 4)


def test_the_bic_test_splits_two_blobs_and_keeps_one_gaussian_whole():
    """split_test: bic on constructed features: a class made of two well-separated blobs splits, a
    class drawn from one Gaussian (anisotropic, axis-aligned, as a diagonal model allows) does not,
    though 2-means would cut it (the threshold rule does); both are above the size threshold."""
    rng = np.random.default_rng(0)
    n, d = 600, 16
    blobs, _ = _two_blob_features(rng, n, centre=1.0)
    blobs = np.concatenate([blobs, 0.05 * rng.standard_normal((n, d - 4)).astype(np.float32)], axis=1)
    gaussian = (rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)).astype(np.float32)
    features = np.concatenate([blobs, gaussian])
    labels = np.repeat([0, 1], n)
    previous = LabelRound(labels, np.full(2, -1), np.zeros((2, 0), np.float32), np.arange(2 * n))
    kept = split_classes(features, previous, threshold=100, normalise="none", seed=3, kmeans=KMEANS, test="bic")
    assert json.loads(kept.attrs["split_classes"]) == [0] and kept.parent.tolist() == [0, 0, 1]
    gains = json.loads(kept.attrs["bic_gain"])
    assert gains["0"] > 0 > gains["1"], gains
    every = split_classes(features, previous, threshold=100, normalise="none", seed=3, kmeans=KMEANS)
    assert json.loads(every.attrs["split_classes"]) == [0, 1] and every.attrs["split_test"] == "threshold"


def test_supervised_schedule_splits_once(run_spec_file, tmp_path):
    cfg = tiny_config()
    cfg["runs"] = {
        "digits-sup": {
            "dataset": "digits",
            "method": "splitting",
            "schedule": "supervised",
            "split_rounds": [1],
            "split_threshold": 100,
        }
    }
    spec = read_spec(run_spec_file(cfg, "digits-sup"))
    truth = load_dataset(spec["dataset_spec"], spec["dataset"]).y.numpy()
    rng = np.random.default_rng(0)
    n = len(truth)
    for r in (0, 1, 2):  # as a phase writes them: the ground truth beside the features
        write_features(
            tmp_path / f"f{r}.h5",
            rng.standard_normal((n, 6)).astype(np.float32),
            n,
            6,
            np.arange(n),
            {"truth_classes": 10},
            columns={"truth": truth},
        )
    r0 = relabel(spec, 0, str(tmp_path / "l0.h5"), str(tmp_path / "f0.h5"))
    assert r0.k == 10 and np.all(r0.parent == -1) and np.array_equal(r0.labels, truth)
    r1 = relabel(spec, 1, str(tmp_path / "l1.h5"), str(tmp_path / "f1.h5"), str(tmp_path / "l0.h5"))
    assert r1.k == 20  # every digit class has more than 100 samples
    # Round 2 is not a split round: labels carry forward unchanged, each class its own parent.
    r2 = relabel(spec, 2, str(tmp_path / "l2.h5"), str(tmp_path / "f2.h5"), str(tmp_path / "l1.h5"))
    assert np.array_equal(r2.labels, r1.labels) and r2.parent.tolist() == list(range(20))
    tree = tree_from_rounds([read_labels(tmp_path / f"l{r}.h5") for r in range(3)])
    assert tree.n_nodes == 30 and tree.node_parent[10:] == [c for c in range(10) for _ in (0, 1)]


def _splitting_config() -> dict:
    """One unsupervised splitting run: 3 phases of 6 steps (also run by the shared end-to-end run)."""
    cfg = tiny_config()
    cfg["runs"] = {"grid-split": dict(SPLIT_RUN)}
    return cfg


def test_dry_run_relabels_every_round_from_the_phases_features(tmp_path):
    cfg = _splitting_config()
    cfg["runs"]["grid-split"]["split_rounds"] = [2]
    write_config(tmp_path, cfg)
    out = snakemake(tmp_path, "-n", "--quiet", "rules").stdout
    counts = {
        x.split()[0]: int(x.split()[1]) for x in out.splitlines() if len(x.split()) == 2 and x.split()[1].isdigit()
    }
    # Features come from init and each phase (no extraction jobs); a label round per round, split or carried.
    assert counts["init"] == 1 and counts["train_phase"] == 3 and counts["relabel"] == 4
    assert "extract_features" not in counts and "evaluate_round" not in counts


@pytest.mark.e2e
def test_unsupervised_run_grows_classes_end_to_end(tiny_run):
    run = tiny_run / "results" / "grid-split" / "seed0"
    rounds = [read_labels(run / f"round_{r:02d}" / "labels.h5") for r in range(4)]
    ks = [r.k for r in rounds]
    assert ks[0] == 1 and all(a < b for a, b in zip(ks, ks[1:], strict=False)), ks
    for r, rnd in enumerate(rounds[1:], start=1):
        # No class at or below the threshold was split, and every split class had two children.
        before = rounds[r - 1].sizes
        children = np.bincount(rnd.parent, minlength=rounds[r - 1].k)
        assert np.all(children[before <= 100] == 1) and np.all(children[before > 100] == 2)
        assert json.loads(rnd.attrs["split_classes"]) == np.flatnonzero(children == 2).tolist()
        with h5py.File(run / f"round_{r:02d}" / "labels.h5") as f:
            assert f"round_{r:02d}/features.h5" in f.attrs["source_features"]
    # The tree rebuilt from the labels files alone is the one the last model was grown into.
    final = load_checkpoint(run / "round_03" / "model.pt")
    assert ClassTree.from_record(final["arch"]["class_tree"]) == tree_from_rounds(rounds[:3])
    assert final["arch"]["n_classes"] == ks[2]
    G, _ = load_networks(final)
    assert G.n_classes == ks[2]
