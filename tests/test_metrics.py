"""Every metric on constructed inputs whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from relabelgan.core.artifacts import ArtifactError, LabelRound
from relabelgan.metrics.clustering import best_permutation_accuracy, clustering_metrics, purity
from relabelgan.metrics.diversity import intra_class_msssim, pairs_per_class, protocol_name, protocol_side
from relabelgan.metrics.evaluator import (
    class_histogram_metrics,
    dominant_truth,
    evaluator_metrics,
    load_evaluator,
    train_evaluator,
)
from relabelgan.metrics.frechet import feature_stats, frechet_between, frechet_distance
from relabelgan.metrics.mixtures import mmd2_unbiased, spread_ratio, subsampled_mmd2
from relabelgan.metrics.nearest import nearest_neighbour_metrics
from relabelgan.tables import comparison, final_round, format_mean_se, summarise

# ----------------------------------------------------------------------------- clustering


def test_perfect_clustering_under_a_permutation_scores_one():
    truth = np.repeat(np.arange(5), 20)
    labels = np.array([3, 0, 4, 1, 2])[truth]  # same partition, other ids
    m = clustering_metrics(labels, truth)
    assert m["nmi"] == pytest.approx(1.0)
    assert m["purity"] == pytest.approx(1.0)
    assert m["accuracy"] == pytest.approx(1.0)


def test_uninformative_clustering_scores_low():
    truth = np.array([0, 1, 0, 1] * 25)
    labels = np.array([0, 0, 1, 1] * 25)  # independent of the truth
    m = clustering_metrics(labels, truth)
    assert m["nmi"] == pytest.approx(0.0, abs=1e-12)
    assert m["purity"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(0.5)


def test_accuracy_penalises_a_split_class_that_purity_forgives():
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])  # class 0 split in two pure halves
    assert purity(labels, truth) == pytest.approx(1.0)
    assert best_permutation_accuracy(labels, truth) == pytest.approx(6 / 8)


# ----------------------------------------------------------------------------- Fréchet distance


def test_identical_feature_sets_have_frechet_distance_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_between(x, x) == pytest.approx(0.0, abs=1e-6)


def test_a_shift_adds_its_squared_length():
    x = np.random.default_rng(1).normal(size=(400, 6))
    shift = np.array([1.0, -2.0, 0.5, 0.0, 0.0, 3.0])
    assert frechet_between(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-6)


def test_diagonal_gaussians_have_the_closed_form_distance():
    a, b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 2.0, 1.5])
    mu1, mu2 = np.zeros(3), np.array([0.0, 1.0, 0.0])
    # For commuting covariances: |mu1-mu2|^2 + sum (a - b)^2 with a, b the standard deviations.
    expected = 1.0 + float(((a - b) ** 2).sum())
    assert frechet_distance(mu1, np.diag(a**2), mu2, np.diag(b**2)) == pytest.approx(expected, rel=1e-9)


def test_frechet_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="N >= 2"):
        feature_stats(np.zeros((1, 4)))


# ----------------------------------------------------------------------------- 2D distribution metrics


def _mixture_inside_the_ball(n_per_mode: int, std: float, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of a 3x3 grid mixture, every one within ``reach`` std of its mean (so all are high quality)."""
    means = np.array([(2.0 * i, 2.0 * j) for i in range(3) for j in range(3)])
    z = np.random.default_rng(0).normal(size=(len(means), n_per_mode, 2))
    z *= np.minimum(1.0, reach / np.linalg.norm(z, axis=2, keepdims=True))  # pull outliers onto the disc
    return (means[:, None, :] + std * z).reshape(-1, 2), means


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.2])
def test_a_copy_scaled_around_each_mode_has_that_spread_ratio(scale):
    real, means = _mixture_inside_the_ball(300, 0.05, reach=2.4)  # 1.2 x 2.4 std stays inside the 3-std ball
    nearest = np.linalg.norm(real[:, None] - means[None], axis=2).argmin(1)
    scaled = means[nearest] + scale * (real - means[nearest])
    assert spread_ratio(scaled, real, means, 0.05) == pytest.approx(scale, rel=1e-9)


def test_spread_ratio_ignores_points_off_the_modes_and_modes_without_samples():
    real, means = _mixture_inside_the_ball(300, 0.05, reach=2.4)
    near_first = real[:300]  # mode 0 only, as the data
    far = means[:1] + np.array([[0.9, 0.9]])  # not high quality: outside every ball
    assert spread_ratio(np.vstack([near_first, far]), real, means, 0.05) == pytest.approx(1.0)
    assert np.isnan(spread_ratio(far, real, means, 0.05))


def test_identical_sets_have_mmd_zero_and_a_shift_raises_it():
    real, _ = _mixture_inside_the_ball(200, 0.05, reach=3.0)
    assert mmd2_unbiased(real, real, 0.05) == pytest.approx(0.0, abs=1e-12)
    shifts = [mmd2_unbiased(real + np.array([d * 0.05, 0.0]), real, 0.05) for d in (0.5, 1.0, 3.0)]
    assert 0 < shifts[0] < shifts[1] < shifts[2]


def test_subsampled_mmd_tells_over_sharp_modes_from_fresh_data():
    means = np.array([(2.0 * i, 2.0 * j) for i in range(3) for j in range(3)])
    rng = np.random.default_rng(1)

    def draw(n: int, std: float) -> np.ndarray:
        return means[rng.integers(len(means), size=n)] + std * rng.normal(size=(n, 2))

    real, fresh, sharp = draw(5000, 0.05), draw(5000, 0.05), draw(5000, 0.025)
    same = subsampled_mmd2(fresh, real, 0.05, 2000, seed=0)
    # Closed form for equal shares, half the std: (1/9)(1/3 + 2/3 - 2 * 4/9) = 1/81.
    assert subsampled_mmd2(sharp, real, 0.05, 2000, seed=0) == pytest.approx(1 / 81, rel=0.15)
    assert abs(same) < 0.1 / 81
    assert subsampled_mmd2(fresh, real, 0.05, 2000, seed=0) == same  # seeded
    with pytest.raises(ValueError, match="same size"):
        mmd2_unbiased(real[:10], real[:11], 0.05)


# ----------------------------------------------------------------------------- evaluator


def test_class_histogram_of_a_collapsed_generator():
    m = class_histogram_metrics(np.zeros(100, dtype=int), 10)
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(10))
    uniform = class_histogram_metrics(np.arange(1000) % 10, 10)
    assert uniform["modes"] == 10 and uniform["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


GRID = {"kind": "grid", "n": 2000, "side": 3, "spacing": 2.0, "std": 0.05, "seed": 0}


@pytest.fixture(scope="module")
def grid_evaluator(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluator")
    acc = train_evaluator(
        GRID, "grid", str(d / "evaluator.pt"), str(d / "evaluator.csv"), epochs=5, test_fraction=0.2, seed=0
    )
    return d, acc


def test_evaluator_is_accurate_and_reported(grid_evaluator):
    d, acc = grid_evaluator
    assert acc > 0.95  # 9 well-separated Gaussians
    report = pd.read_csv(d / "evaluator.csv")
    assert report.loc[0, "metric"] == "evaluator_test_accuracy"
    assert report.loc[0, "value"] == pytest.approx(acc)
    assert report.loc[0, "n_test"] == 400


def test_evaluator_training_is_seeded(grid_evaluator, tmp_path):
    d, acc = grid_evaluator
    again = train_evaluator(
        GRID, "grid", str(tmp_path / "e.pt"), str(tmp_path / "e.csv"), epochs=5, test_fraction=0.2, seed=0
    )
    assert again == acc
    a, b = torch.load(d / "evaluator.pt", weights_only=True), torch.load(tmp_path / "e.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_evaluator_metrics_tell_real_from_collapsed(grid_evaluator):
    from relabelgan.data import load_dataset

    d, _ = grid_evaluator
    ev = load_evaluator(str(d / "evaluator.pt"))
    real = load_dataset({**GRID, "seed": 7}).x  # fresh samples of the same mixture
    collapsed = real[:1].repeat(len(real), 1) + 0.05 * torch.randn(len(real), 2)
    good, bad = evaluator_metrics(ev, real), evaluator_metrics(ev, collapsed)
    assert good["clf_modes"] == 9 and bad["clf_modes"] == 1
    assert good["clf_reverse_kl"] < 0.05 < bad["clf_reverse_kl"]
    assert good["clf_frechet"] < bad["clf_frechet"]


def test_class_agreement_sees_whether_samples_follow_their_class(grid_evaluator):
    """Samples drawn from the Gaussian their class stands for agree; the same samples under shuffled
    classes (a G that ignores its class) agree only by chance."""
    from relabelgan.data import load_dataset

    d, _ = grid_evaluator
    ev = load_evaluator(str(d / "evaluator.pt"))
    data = load_dataset({**GRID, "seed": 7})
    truth = data.y.numpy()
    # Two clusters per Gaussian (ids 2g and 2g+1), as a split round makes them: dominant truth g.
    clusters = LabelRound(
        2 * truth + np.arange(len(truth)) % 2, np.full(18, -1), np.zeros((18, 0)), np.arange(len(truth)), {}
    )
    dominant = dominant_truth(clusters, truth)
    assert dominant.tolist() == [g for g in range(9) for _ in (0, 1)]
    followed = evaluator_metrics(ev, data.x, clusters.labels, dominant)["clf_class_agreement"]
    ignored = evaluator_metrics(ev, data.x, np.random.default_rng(0).permutation(clusters.labels), dominant)
    assert followed > 0.95 and ignored["clf_class_agreement"] < 0.25
    assert "clf_class_agreement" not in evaluator_metrics(ev, data.x)  # no classes given: not computed


def test_dominant_truth_marks_empty_classes():
    labels = LabelRound(np.array([0, 0, 2, 2, 2]), np.full(3, -1), np.zeros((3, 0)), np.array([4, 3, 2, 1, 0]), {})
    truth = np.array([7, 7, 5, 1, 1])  # by dataset index; sample_index maps rows to it
    assert dominant_truth(labels, truth).tolist() == [1, -1, 7]


def test_a_foreign_evaluator_file_is_refused_by_name(tmp_path):
    bad = tmp_path / "evaluator.pt"
    torch.save({"format": "something-else"}, bad)
    with pytest.raises(ArtifactError, match="evaluator.pt"):
        load_evaluator(str(bad))
    with pytest.raises(ArtifactError, match="train_evaluator"):
        load_evaluator(str(tmp_path / "missing.pt"))


# ----------------------------------------------------------------------------- diversity


def test_msssim_protocol_on_small_images():
    assert protocol_side(8) == 40 and protocol_name(8) == "msssim_w3_40px"
    assert protocol_side(32) == 64 and protocol_side(48) == 48


def test_identical_images_in_a_class_have_msssim_one_and_noise_is_diverse():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, 1, 8, 8, generator=g) * 2 - 1
    classes = np.repeat(np.arange(3), 10)
    copies = base[classes]
    assert intra_class_msssim(copies, classes, pairs=20, seed=0) == pytest.approx(1.0, abs=1e-4)
    noise = torch.rand(30, 1, 8, 8, generator=g) * 2 - 1
    assert intra_class_msssim(noise, classes, pairs=20, seed=0) < 0.5


def test_msssim_pairs_per_class_keep_a_total_floor_and_the_floor_changes_the_estimate():
    assert pairs_per_class(100, 1000, 10) == 100  # the AC-GAN paper's count where it already gives 1,000
    assert pairs_per_class(100, 1000, 1) == 1000  # one class: ten times the pairs
    assert pairs_per_class(100, 1000, 3) == 334 and pairs_per_class(100, 0, 1) == 100
    g = torch.Generator().manual_seed(0)
    images, one_class = torch.rand(200, 1, 8, 8, generator=g) * 2 - 1, np.zeros(200, dtype=int)
    few = intra_class_msssim(images, one_class, pairs=5, seed=0)
    assert intra_class_msssim(images, one_class, pairs=5, seed=0, min_total=0) == few  # no floor: as before
    assert intra_class_msssim(images, one_class, pairs=5, seed=0, min_total=400) != few


# ----------------------------------------------------------------------------- nearest neighbours


def test_copies_of_training_samples_are_flagged():
    g = torch.Generator().manual_seed(0)
    train = torch.randn(500, 16, generator=g)
    copies = nearest_neighbour_metrics(train[:200].clone(), train, seed=0)
    assert copies["nn_gen_median"] == pytest.approx(0.0, abs=1e-6)
    assert copies["nn_ratio"] == pytest.approx(0.0, abs=1e-6)
    fresh = nearest_neighbour_metrics(torch.randn(200, 16, generator=g), train, seed=0)
    assert 0.7 < fresh["nn_ratio"] < 1.5


# ----------------------------------------------------------------------------- tables


def _metrics_frame() -> pd.DataFrame:
    rows = []
    for seed, final in ((0, 1.0), (1, 3.0)):
        for rnd, value in ((0, 100.0), (1, 50.0), (2, final)):
            rows.append(
                {
                    "run": "a",
                    "dataset": "d",
                    "method": "selfcond",
                    "seed": seed,
                    "round": rnd,
                    "metric": "m",
                    "value": value,
                }
            )
    rows.append({"run": "b", "dataset": "d", "method": "uncond", "seed": 0, "round": 1, "metric": "m", "value": 7.0})
    return pd.DataFrame(rows)


def test_tables_take_the_final_round_and_the_standard_error():
    s = summarise(final_round(_metrics_frame())).set_index("run")
    assert s.loc["a", "mean"] == pytest.approx(2.0)
    assert s.loc["a", "se"] == pytest.approx(1.0)  # std(1, 3) = sqrt(2), / sqrt(2)
    assert s.loc["a", "n"] == 2
    assert s.loc["b", "mean"] == 7.0 and np.isnan(s.loc["b", "se"])


def test_comparison_writes_csv_markdown_and_plot(tmp_path):
    metrics = tmp_path / "metrics.csv"
    _metrics_frame().to_csv(metrics, index=False)
    comparison(str(metrics), "d", str(tmp_path / "t.csv"), str(tmp_path / "t.md"), str(tmp_path / "t.png"))
    md = (tmp_path / "t.md").read_text()
    assert "| a | selfcond | 2.00 ± 1.00 |" in md
    assert "| b | uncond | 7.00 |" in md
    assert pd.read_csv(tmp_path / "t.csv")["n"].tolist() == [2, 1]
    assert (tmp_path / "t.png").stat().st_size > 1000
    # A metric a job could not compute (NaN: FID/IS without weights) stays a column, marked and explained.
    skipped = pd.concat(
        [
            _metrics_frame(),
            pd.DataFrame(
                [
                    {
                        "run": "b",
                        "dataset": "d",
                        "method": "uncond",
                        "seed": 0,
                        "round": 1,
                        "metric": "fid10k_train",
                        "value": np.nan,
                    }
                ]
            ),
        ]
    )
    skipped.to_csv(metrics, index=False)
    comparison(str(metrics), "d", str(tmp_path / "t.csv"), str(tmp_path / "t.md"), str(tmp_path / "t.png"))
    md = (tmp_path / "t.md").read_text()
    assert "| b | uncond | – | 7.00 |" in md and "– = not computed" in md and "over 1–2 seed(s)" in md
    with pytest.raises(ValueError, match="no metrics for dataset 'zzz'"):
        comparison(str(metrics), "zzz", str(tmp_path / "x.csv"), str(tmp_path / "x.md"), str(tmp_path / "x.png"))


@pytest.mark.parametrize(
    ("mean", "se", "cell"),
    [
        (0.0014, 0.0002, "0.00140 ± 0.00020"),  # the paper's ring reverse KL: not 0.001
        (0.00142, float("nan"), "0.00142"),
        (99.53, 0.31, "99.53 ± 0.31"),
        (8.0, 0.0, "8.00 ± 0.00"),
        (310.3, 12.0, "310 ± 12"),
        (97.0, 1e-7, "97.0000 ± 0.0000"),  # at most 6 significant digits of the mean
        (-0.00031, 0.0004, "-0.000310 ± 0.000400"),  # MMD² can dip below 0
    ],
)
def test_cells_show_significant_digits(mean, se, cell):
    assert format_mean_se(mean, se) == cell


# ----------------------------------------------------------------------------- Stacked MNIST mode counting


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_stacked_mnist_modes_are_counted_per_channel(tmp_path):
    """MNIST-format files made here: 10 blocky 'digits' (4x4 blocks, so they survive resizing to 8 px)."""
    rng = np.random.default_rng(0)
    templates = rng.integers(0, 2, size=(10, 4, 4)).repeat(7, 1).repeat(7, 2) * 255
    labels = np.repeat(np.arange(10), 40)
    images = np.clip(templates[labels] + rng.normal(0, 20, size=(len(labels), 28, 28)), 0, 255)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    spec = {"kind": "stacked_mnist", "path": str(tmp_path), "resolution": 8, "n": 300, "seed": 0}
    acc = train_evaluator(
        spec, "stacked", str(tmp_path / "ev.pt"), str(tmp_path / "ev.csv"), epochs=15, test_fraction=0.2, seed=0
    )
    assert acc > 0.95
    ev = load_evaluator(str(tmp_path / "ev.pt"))
    from relabelgan.data import load_dataset

    stacked = load_dataset(spec)
    m = evaluator_metrics(ev, stacked.x)
    # Every channel read correctly: the modes are the distinct digit triples of the data (of 1000).
    assert m["clf_modes"] == len(np.unique(stacked.y.numpy()))
    one_triple = evaluator_metrics(ev, stacked.x[:1].repeat(50, 1, 1, 1))
    assert one_triple["clf_modes"] == 1
    assert one_triple["clf_reverse_kl"] == pytest.approx(math.log(1000))
    assert "clf_frechet" not in m


def test_msssim_by_true_class_compares_every_method_with_the_real_digits(tmp_path):
    """Generated samples grouped by the digit the evaluator reads, against real digits by true class:
    the real digits score as themselves, one image per digit scores as a collapse."""
    from types import SimpleNamespace

    from relabelgan.data import load_dataset
    from relabelgan.metrics.diversity import msssim_by_true_class, protocol_name

    spec_data = {"kind": "digits"}
    train_evaluator(
        spec_data, "digits", str(tmp_path / "ev.pt"), str(tmp_path / "ev.csv"), epochs=3, test_fraction=0.2, seed=0
    )
    evaluator, data = load_evaluator(str(tmp_path / "ev.pt")), load_dataset(spec_data, "digits")
    spec = {"seed": 0, "msssim_pairs": 100, "msssim_pairs_total": 1000}

    def by_true_class(x):  # the metric's view of a round whose samples are ``x``
        ctx = SimpleNamespace(spec=spec, rnd=3, data=data, samples=(x, None), predicted=evaluator.classify(x)[0])
        return msssim_by_true_class(ctx)

    m = protocol_name(data.x.shape[-1])
    real = by_true_class(data.x)
    assert set(real) == {f"{m}_gen_intra_clf", f"{m}_real_intra_truth"}
    assert real[f"{m}_gen_intra_clf"] == pytest.approx(real[f"{m}_real_intra_truth"], abs=0.05)
    one_per_digit = data.x[[int(np.flatnonzero(data.y.numpy() == d)[0]) for d in data.y.numpy()]]
    collapsed = by_true_class(one_per_digit)
    assert collapsed[f"{m}_gen_intra_clf"] > real[f"{m}_real_intra_truth"] + 0.2
