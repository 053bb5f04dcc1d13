"""selfcond's supervised initialisation (``init_labels: truth``, the selfcond paper's "Ours + Supervised
Init."): round 0 is the ground truth when k is the class count, whole classes grouped by k-means of their
mean features when k is smaller, refused when k is larger; later rounds re-cluster as selfcond does."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config

from relabelgan.core.artifacts import ArtifactError, read_features, write_features
from relabelgan.core.config import resolve_config, run_spec
from relabelgan.core.errors import ConfigError
from relabelgan.core.kmeans import cluster_means
from relabelgan.data import load_dataset
from relabelgan.initialise import init_round
from relabelgan.methods import RoundFeatures, get_method
from relabelgan.relabel import relabel
from relabelgan.training.loop import train_phase
from relabelgan.training.round_outputs import RoundOutputs


def _spec(**run) -> dict:
    config = tiny_config()
    config["runs"] = {
        "run": {
            "dataset": "digits",
            "method": "selfcond",
            "k": 10,
            "init_labels": "truth",
            "iters_per_phase": 3,
            "batch_size": 16,
            "width": 8,
            "z_dim": 8,
            "eval_samples": 200,
            "msssim_pairs": 5,
            **run,
        }
    }
    return run_spec(resolve_config(config), "run", 0)


def _features(tmp_path, features: np.ndarray, truth: np.ndarray | None, n_classes: int = 0) -> RoundFeatures:
    path = tmp_path / "features.h5"
    columns = {} if truth is None else {"truth": truth}
    attrs = {"run": "run"} if truth is None else {"run": "run", "truth_classes": n_classes}
    write_features(path, features, len(features), features.shape[1], np.arange(len(features)), attrs, columns=columns)
    feats, index, stored = read_features(path)
    return RoundFeatures(str(path), feats, index, stored)


def test_the_key_defaults_to_kmeans():
    assert _spec(init_labels="kmeans")["init_labels"] == "kmeans"
    config = tiny_config()
    assert resolve_config(config)["runs"]["grid-selfcond"]["init_labels"] == "kmeans"


def test_round_0_is_the_truth_when_k_is_the_class_count_and_round_1_reclusters(tmp_path):
    spec = _spec()
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    p = {name: str(tmp_path / name) for name in ("m0.pt", "f0.h5", "x0.csv", "l0.h5", "m1.pt", "f1.h5", "x1.csv")}
    init_round(spec, p["m0.pt"], RoundOutputs(p["f0.h5"], p["x0.csv"]))
    labels0 = relabel(spec, 0, p["l0.h5"], p["f0.h5"])
    assert get_method("selfcond").label_source(spec, 0) == "dataset"
    assert np.array_equal(labels0.labels, data.y.numpy()) and labels0.k == 10
    assert (labels0.parent == -1).all() and labels0.attrs["init"] == "truth"
    feats = read_features(p["f0.h5"])[0]
    np.testing.assert_allclose(labels0.centroids, cluster_means(feats, data.y.numpy(), 10)[0], rtol=1e-5, atol=1e-6)
    train_phase(spec, 1, p["m0.pt"], p["l0.h5"], p["m1.pt"], str(tmp_path / "log.csv"), str(tmp_path / "s.png"),
                RoundOutputs(p["f1.h5"], p["x1.csv"]))  # fmt: skip
    labels1 = relabel(spec, 1, str(tmp_path / "l1.h5"), p["f1.h5"], p["l0.h5"])
    assert get_method("selfcond").label_source(spec, 1) == "features"
    # Later rounds are selfcond's: k-means warm-started from the true classes' means, matched to them.
    assert (
        labels1.attrs["init"] == "warm" and labels1.attrs["match"] == "hungarian" and labels1.attrs["match_cost"] >= 0
    )
    assert labels1.k == 10


def test_fewer_clusters_than_classes_group_whole_classes_by_their_mean_features(tmp_path):
    """Six true classes whose means pair up ({0, 3}, {1, 4}, {2, 5} close together), k = 3: each cluster is
    one pair, every true class goes whole to one cluster, centroids are the members' means."""
    rng = np.random.default_rng(0)
    pair_centre = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    class_centre = np.concatenate([pair_centre, pair_centre + 0.5])  # class c and c + 3 are neighbours
    truth = np.repeat(np.arange(6), [5, 9, 7, 6, 8, 4])
    feats = (class_centre[truth] + 0.05 * rng.standard_normal((len(truth), 2))).astype(np.float32)
    spec = {**_spec(k=3), "name": "run"}
    labels = get_method("selfcond").make_labels(spec, 0, _features(tmp_path, feats, truth, 6), None)
    assert labels.k == 3 and len(labels.labels) == len(truth)
    group = labels.attrs["truth_groups"]
    assert np.array_equal(labels.labels, group[truth])  # a true class is never divided
    assert [group[c] == group[c + 3] for c in range(3)] == [True] * 3 and len(set(group[:3])) == 3
    np.testing.assert_allclose(labels.centroids, cluster_means(feats, labels.labels, 3)[0], rtol=1e-5)
    assert (labels.parent == -1).all() and labels.attrs["init"] == "truth"
    # Seeded: the same spec groups the same way (here through pixelkmeans, which starts as selfcond does).
    again = get_method("pixelkmeans").make_labels(spec, 0, _features(tmp_path, feats, truth, 6), None)
    assert np.array_equal(again.labels, labels.labels)


def test_more_clusters_than_classes_or_no_truth_are_refused(tmp_path):
    feats = np.random.default_rng(0).standard_normal((12, 3)).astype(np.float32)
    truth = np.arange(12) % 4
    spec = {**_spec(k=5), "name": "run"}
    with pytest.raises(ConfigError, match="k is 5 but dataset 'digits' has 4 classes.*init_labels"):
        get_method("selfcond").make_labels(spec, 0, _features(tmp_path, feats, truth, 4), None)
    with pytest.raises(ArtifactError, match="no ground-truth labels.*init_labels: truth"):
        get_method("selfcond").make_labels(spec, 0, _features(tmp_path, feats, None), None)
    # k-means (the default) needs no truth.
    labels = get_method("selfcond").make_labels(
        {**spec, "init_labels": "kmeans"}, 0, _features(tmp_path, feats, None), None
    )
    assert labels.k == 5
