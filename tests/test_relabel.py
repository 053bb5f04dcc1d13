"""Relabeling: Hungarian rematch, warm start, determinism, carried-forward labels."""

from __future__ import annotations

import numpy as np
import pytest

from relabelgan.core.artifacts import LabelRound
from relabelgan.core.errors import ConfigError
from relabelgan.core.kmeans import assign, cluster_round, fit_kmeans, match_clusters, warm_start_centroids


def blobs(k=5, per=60, dim=4, seed=0, spread=0.05):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 5
    truth = np.repeat(np.arange(k), per)
    return (centres[truth] + spread * rng.normal(size=(len(truth), dim))).astype(np.float32), truth


def test_hungarian_recovers_a_constructed_permutation():
    rng = np.random.default_rng(1)
    old = rng.integers(0, 6, size=500)
    perm = rng.permutation(6)
    new = perm[old]  # same partition, shuffled ids
    mapping, cost = match_clusters(old, new, 6)
    assert cost == 0
    np.testing.assert_array_equal(mapping[new], old)


def test_hungarian_cost_counts_missing_samples():
    old = np.array([0, 0, 0, 1, 1, 1])
    new = np.array([1, 1, 0, 0, 0, 0])  # old 0 -> mostly new 1; one sample moved
    mapping, cost = match_clusters(old, new, 2)
    assert list(mapping) == [1, 0]
    assert cost == 1


def test_warm_start_centroids_are_old_members_means():
    x, truth = blobs()
    c = warm_start_centroids(x, truth, 5, seed=0)
    for j in range(5):
        np.testing.assert_allclose(c[j], x[truth == j].mean(0), rtol=1e-5)


def test_warm_start_fills_an_empty_old_cluster_with_a_sample():
    x, truth = blobs(k=3)
    c = warm_start_centroids(x, truth, 4, seed=0)
    assert any(np.allclose(c[3], row) for row in x)


def test_warm_reclustering_keeps_ids_stable_under_a_feature_change():
    x, truth = blobs()
    first = LabelRound(truth, np.full(5, -1), np.zeros((5, 4)), np.arange(len(truth)))
    # The "new feature space": a rotation and a shift; cluster ids must be kept by warm start + matching.
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(4, 4)))
    x2 = x @ q.astype(np.float32) + 3.0
    kmeans = {"n_init": 1, "max_iter": 100, "subset": 10_000, "backend": "sklearn"}
    for init in ("warm", "kmeanspp"):
        labels, _, attrs = cluster_round(x2, 5, seed=7, kmeans=kmeans, previous=first, init=init, match="hungarian")
        np.testing.assert_array_equal(labels, truth)
        assert attrs["match_cost"] == 0


def test_without_matching_kmeanspp_ids_are_arbitrary_but_partition_is_right():
    x, truth = blobs()
    first = LabelRound(truth, np.full(5, -1), np.zeros((5, 4)), np.arange(len(truth)))
    kmeans = {"n_init": 3, "max_iter": 100, "subset": 10_000, "backend": "sklearn"}
    labels, _, _ = cluster_round(x, 5, seed=11, kmeans=kmeans, previous=first, init="kmeanspp", match="none")
    mapping, cost = match_clusters(truth, labels, 5)
    assert cost == 0


def test_same_seed_same_labels_and_different_seed_differs():
    x, _ = blobs(k=8, per=40, spread=2.0)
    kmeans = {"n_init": 4, "max_iter": 300, "subset": 200, "backend": "sklearn"}
    a = cluster_round(x, 8, seed=5, kmeans=kmeans)[0]
    b = cluster_round(x, 8, seed=5, kmeans=kmeans)[0]
    np.testing.assert_array_equal(a, b)
    c = cluster_round(x, 8, seed=6, kmeans=kmeans)[0]
    assert not np.array_equal(a, c)


def test_assign_matches_bruteforce():
    x, _ = blobs(k=4, per=30)
    res = fit_kmeans(x, 4, seed=0, n_init=2, backend="sklearn")
    brute = ((x[:, None, :] - res.centroids[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(assign(x, res.centroids, chunk=17), brute)


def test_kmeans_refuses_fewer_points_than_clusters():
    with pytest.raises(ConfigError, match="k=10 clusters needs at least 10 samples, got 5; lower the run.s k"):
        fit_kmeans(np.zeros((5, 2), np.float32), 10, seed=0)
