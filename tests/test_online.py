"""online: MacQueen's update on constructed features, the in-place relabelling of a D step's batch, the
network K through checkpoints (exact resume, counts carried or reset), and the round's labels as the
nearest K centroid of every sample; the training code never names the method."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, resumed_phase, tiny_config, write_config

from relabelgan.core.artifacts import ArtifactError, read_features, read_labels
from relabelgan.core.config import load_config, run_spec
from relabelgan.core.kmeans import assign, cluster_means
from relabelgan.initialise import init_round
from relabelgan.methods import get_method
from relabelgan.methods.base import class_parents
from relabelgan.methods.online.centroids import OnlineCentroids, OnlineLoss, buffers_kept, relabel_batch
from relabelgan.networks import build_networks, network_arch
from relabelgan.relabel import relabel
from relabelgan.training.checkpoint import load_checkpoint
from relabelgan.training.loop import train_phase
from relabelgan.training.round_outputs import RoundOutputs
from relabelgan.training.sampling import Batch

ONLINE = {"dataset": "grid", "method": "online", "k": 9}
BATCH, ITERS = 32, 8


def _k(centroids, counts) -> OnlineCentroids:
    K = OnlineCentroids(*np.shape(centroids))
    K.centroids.copy_(torch.as_tensor(centroids, dtype=torch.float32))
    K.counts.copy_(torch.as_tensor(counts))
    return K


def test_macqueen_update_on_constructed_features():
    K = _k([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], [0, 0, 5])
    y = K.update(torch.tensor([[1.0, 0.0], [2.0, 0.0], [9.0, 0.0]]))
    assert y.tolist() == [0, 0, 1] and K.counts.tolist() == [2, 1, 5]
    # Counts from 0: the first member replaces a centroid, the next ones average in (the running mean).
    assert K.centroids.tolist() == [[1.5, 0.0], [9.0, 0.0], [0.0, 10.0]]  # centroid 2: no member, unmoved
    y = K.update(torch.tensor([[3.5, 0.0], [1.0, 8.0]]))
    assert y.tolist() == [0, 2] and K.counts.tolist() == [3, 1, 6]
    assert K.centroids[0].tolist() == pytest.approx([1.5 + (3.5 - 1.5) / 3, 0.0])
    assert K.centroids[2].tolist() == pytest.approx([(1.0 - 0.0) / 6, 10.0 + (8.0 - 10.0) / 6])


def test_the_batched_update_is_the_reference_per_sample_loop():
    """clusterers/online.py: assign the batch, then for each sample in turn count += 1, c += (x - c) / count."""
    rng = np.random.default_rng(0)
    centroids, counts = rng.standard_normal((5, 3)), np.array([0, 3, 1, 10, 0])
    K = _k(centroids, counts)
    for _ in range(4):
        f = rng.standard_normal((40, 3))
        y = K.update(torch.as_tensor(f, dtype=torch.float32)).numpy()
        expected = np.argmin(((f[:, None, :] - centroids[None]) ** 2).sum(-1), 1)
        assert np.array_equal(y, expected)
        for xi, yi in zip(f, y, strict=True):
            counts[yi] += 1
            centroids[yi] += (xi - centroids[yi]) / counts[yi]
        assert K.counts.tolist() == counts.tolist()
        np.testing.assert_allclose(K.centroids.numpy(), centroids, rtol=1e-5, atol=1e-6)


def _digits_d(seed: int = 0):
    spec = {"arch": "auto", "z_dim": 4, "embed_dim": 4, "embed_norm": False, "width": 8, "d_norm": "batch"}
    torch.manual_seed(seed)
    arch = network_arch(spec, (1, 8, 8), 3, "heads")
    return arch, *build_networks(arch)


def test_a_d_step_relabels_its_real_batch_in_place_and_leaves_d_untouched():
    arch, G, D = _digits_d()
    record = get_method("online").extra_networks({"online": {"reset_counts": False}}, arch)["K"]
    assert record == {"kind": "online_centroids", "k": 3, "dim": D.adv.in_features, "reset_counts": False}
    K = get_method("online").build_extra_network("K", record)
    real = torch.rand(12, 1, 8, 8) * 2 - 1
    D.train()
    with (
        torch.no_grad(),
        buffers_kept(D),
    ):  # the first three images' features, as the batch gives them, are the centroids
        K.centroids.copy_(D.features(real)[:3])
    K.counts.zero_()
    before = {name: b.clone() for name, b in D.named_buffers()}
    assert before, "the digits D has BatchNorm buffers"
    y = torch.zeros(12, dtype=torch.int64)
    batch = Batch(torch.Generator(), real=real, y_real=y, z=torch.randn(12, 4), y_fake=y)  # paired: one tensor

    seen = {}

    class Recorder:
        def loss(self, update, nets, b):
            seen[update] = b.y_fake.clone()
            return torch.zeros(()), {"gan": 1.0}

    loss = OnlineLoss(Recorder())
    _, stats = loss.loss("D", {"G": G, "D": D, "K": K}, batch)
    assert batch.y_real is y and y[:3].tolist() == [0, 1, 2]
    assert torch.equal(seen["D"], y) and torch.equal(batch.y_fake, y)  # the paired fakes followed
    assert int(K.counts.sum()) == 12 and set(stats) >= {"gan", "online_relabelled", "online_clusters_in_batch"}
    for name, b in D.named_buffers():  # BatchNorm's running statistics: as before the relabelling pass
        assert torch.equal(b, before[name]), name
    # G's step reads the batch and leaves K alone.
    loss.loss("G", {"G": G, "D": D, "K": K}, Batch(torch.Generator(), z=batch.z, y_fake=y))
    assert int(K.counts.sum()) == 12
    with pytest.raises(ValueError, match="real batch"):
        relabel_batch(D, K, Batch(torch.Generator(), z=batch.z, y_fake=y))


def _config(**extra) -> dict:
    cfg = tiny_config()
    cfg["runs"] = {"grid-online": {**ONLINE, "iters_per_phase": ITERS, "log_every": 4, "snapshot_every": 4, **extra}}
    return cfg


def _round(spec: dict, d, rnd: int, prev=None) -> tuple[str, str]:
    """Phase ``rnd`` from round rnd-1's folder ``prev`` (round 0: init) with its features, then relabel."""
    model, feats, labels = str(d / "model.pt"), str(d / "features.h5"), str(d / "labels.h5")
    outputs = RoundOutputs(feats, str(d / "metrics.csv"))
    if rnd == 0:
        init_round(spec, model, outputs)
        relabel(spec, 0, labels, feats)
    else:
        pm, pl = str(prev / "model.pt"), str(prev / "labels.h5")
        train_phase(spec, rnd, pm, pl, model, str(d / "log.csv"), str(d / "s.png"), outputs)
        relabel(spec, rnd, labels, feats, pl)
    return model, labels


def test_labels_are_the_nearest_centroid_of_k_and_counts_carry_over_phases(tmp_path):
    spec = run_spec(load_config(write_config(tmp_path, _config(rounds=2))), "grid-online", 0)
    method = get_method("online")
    r = [tmp_path / f"r{i}" for i in range(3)]
    m0, l0 = _round(spec, r[0], 0)
    with h5py.File(r[0] / "features.h5") as f:
        assert "assigned" not in f  # round 0 is selfcond's k-means; K starts with phase 1
    labels0 = read_labels(l0)
    assert labels0.attrs["init"] == "kmeanspp" and method.label_source(spec, 0) == "features"
    state0 = load_checkpoint(m0)
    assert not bool(state0["networks"]["K"]["started"])
    started = method.start_model(state0, labels0, l0, m0)["networks"]["K"]
    assert torch.equal(started["centroids"], torch.from_numpy(labels0.centroids)) and bool(started["started"])
    assert int(started["counts"].sum()) == 0

    m1, l1 = _round(spec, r[1], 1, r[0])
    K1 = load_checkpoint(m1)["networks"]["K"]
    assert int(K1["counts"].sum()) == ITERS * BATCH  # one real batch per D step, d_steps 1
    feats, _, attrs = read_features(r[1] / "features.h5")
    labels1 = read_labels(l1)
    nearest = assign(feats, K1["centroids"].numpy())
    with h5py.File(r[1] / "features.h5") as f:
        assert np.array_equal(f["assigned"][...], nearest) and attrs["online_classes"] == 9
    assert np.array_equal(labels1.labels, nearest)
    # G's classes in the round's metrics and samples: drawn by the final assignment, not by round 0's sizes.
    sizes1 = load_checkpoint(m1)["method_state"]["class_sizes"]
    assert torch.equal(sizes1, torch.as_tensor(labels1.sizes)) and not torch.equal(
        sizes1, torch.as_tensor(labels0.sizes)
    )
    # A nearest centroid by exact distances too (up to float32 ties).
    d2 = ((feats[:, None, :].astype(np.float64) - K1["centroids"].numpy()[None].astype(np.float64)) ** 2).sum(-1)
    assert (d2[np.arange(len(feats)), labels1.labels] <= d2.min(1) + 1e-4).all()
    np.testing.assert_allclose(labels1.centroids, cluster_means(feats, labels1.labels, 9)[0], rtol=1e-5, atol=1e-6)
    assert np.array_equal(labels1.parent, class_parents(labels0, labels1.labels, 9))
    assert labels1.attrs["labels_from"] == "nearest online centroid" and method.label_source(spec, 1) == "clusterer"
    log = pd.read_csv(r[1] / "log.csv")
    assert {"online_relabelled", "online_clusters_in_batch", "d_real"} <= set(log.columns)

    # Phase 2 carries K on: same centroids at its start, counts keep growing (the reference never resets them).
    start2 = method.start_model(load_checkpoint(m1), labels1, l1, m1)["networks"]["K"]
    assert torch.equal(start2["centroids"], K1["centroids"]) and torch.equal(start2["counts"], K1["counts"])
    m2, _ = _round(spec, r[2], 2, r[1])
    assert int(load_checkpoint(m2)["networks"]["K"]["counts"].sum()) == 2 * ITERS * BATCH

    # online.reset_counts: phase 2 starts from phase 1's centroids with counts at 0.
    reset = run_spec(
        load_config(write_config(tmp_path / "reset", _config(online={"reset_counts": True}))), "grid-online", 0
    )
    state = load_checkpoint(m1)
    state["extra_arch"]["K"]["reset_counts"] = True  # as a reset_counts run's model 1 records it
    start2 = method.start_model(state, labels1, l1, m1)["networks"]["K"]
    assert torch.equal(start2["centroids"], K1["centroids"]) and int(start2["counts"].sum()) == 0
    q = [tmp_path / "reset" / f"r{i}" for i in range(3)]
    _round(reset, q[0], 0)
    _round(reset, q[1], 1, q[0])
    m2r, _ = _round(reset, q[2], 2, q[1])
    K2r = load_checkpoint(m2r)
    assert K2r["extra_arch"]["K"]["reset_counts"] is True and int(K2r["networks"]["K"]["counts"].sum()) == ITERS * BATCH


def test_resume_equals_an_uninterrupted_phase(tmp_path):
    """A phase continued from its in-phase snapshot ends with the same K, G and D as an uninterrupted one."""
    spec = run_spec(load_config(write_config(tmp_path, _config())), "grid-online", 0)
    model, labels = _round(spec, tmp_path / "r0", 0)

    # The state after 4 of 8 iterations, saved as the phase's resume.pt (what SIGTERM would leave).
    assert spec["iters_per_phase"] == 8
    full, snap, resumed = resumed_phase(spec, model, labels, tmp_path)
    assert int(snap["networks"]["K"]["counts"].sum()) == 4 * BATCH
    assert not torch.equal(snap["networks"]["K"]["centroids"], full["networks"]["K"]["centroids"])
    for key, value in full["networks"]["K"].items():
        assert torch.equal(value, resumed["networks"]["K"][key]), key
    for net in ("G", "D"):
        for key, value in full["networks"][net].items():
            assert torch.allclose(value.float(), resumed["networks"][net][key].float(), atol=1e-6), (net, key)


def test_supervised_init_and_refusals(tmp_path):
    spec = run_spec(load_config(write_config(tmp_path, _config(k=9, init_labels="truth"))), "grid-online", 0)
    model, labels = _round(spec, tmp_path / "r0", 0)
    with h5py.File(tmp_path / "r0" / "features.h5") as f:
        truth = f["truth"][...]
    assert np.array_equal(read_labels(labels).labels, truth)  # the 3x3 grid's nine modes
    assert get_method("online").label_source(spec, 0) == "dataset"
    # Features without the phase's column, and a model without K, are refused with the file named.
    bad = tmp_path / "r0" / "features.h5"
    with pytest.raises(ArtifactError, match="has no column 'assigned'"):
        relabel(spec, 1, str(tmp_path / "x.h5"), str(bad), labels)
    state = load_checkpoint(model)
    del state["networks"]["K"], state["extra_arch"]
    with pytest.raises(ArtifactError, match="no network K"):
        get_method("online").start_model(state, read_labels(labels), labels, model)


def test_the_training_code_never_names_the_method_or_its_network():
    """The loop learns of online only through the hooks: no 'online', no network 'K' in training/."""
    pattern = re.compile(r"""\bonline\b|["']K["']""", re.IGNORECASE)
    files = sorted((REPO / "src" / "relabelgan" / "training").glob("*.py"))
    files += [REPO / "src" / "relabelgan" / name for name in ("initialise.py", "pipeline.py", "extract.py")]
    hits = [
        f"{p.name}:{i}" for p in files for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)
    ]
    assert files and not hits, hits
