"""`relabelgan evaluate`: one round's model metrics as tidy rows (run, seed, round, metric, value).

A metric's name carries its protocol: ``modes_50k`` is counted on 50,000 samples.
``evaluate_round`` holds the cheap per-round metrics of a model; the workflow runs it at the end of
each phase (train.py, init.py), while the model is at hand. The labels' own metrics against the
ground truth (NMI, purity) are the relabel step's (relabel.label_quality). For images the
final round's metrics also hold the nearest-neighbour copy check. ``evaluate_final`` holds FID/IS
(runs with ``fid: true``, final round), ``reference_stats`` the training set's Inception statistics
they compare with (docs/metrics.md lists every metric and its protocol).
"""

from __future__ import annotations

import numpy as np

from .core.artifacts import LabelRound, read_labels
from .core.errors import ConfigError
from .core.progress import Stages
from .core.tidy import write_metric_rows
from .data import load_dataset, load_run_dataset
from .data.base import Dataset
from .metrics.diversity import intra_class_msssim, protocol_name
from .training.checkpoint import load_checkpoint, load_networks
from .training.device import derive_seed, pick_device
from .training.samples import class_weights, generate


def _protocol(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _generator(model: str, device):
    state = load_checkpoint(model)
    G, _ = load_networks(state, device)
    return G, state


def _mixture_metrics(spec: dict, rnd: int, x, data: Dataset, tag: str) -> dict[str, float]:
    """2D mixtures: modes, HQ share, reverse KL; spread ratio on all samples, MMD² on a seeded subsample."""
    from .metrics.mixtures import MMD_SAMPLES, mixture_metrics, spread_ratio, subsampled_mmd2

    values = {f"{k}_{tag}": v for k, v in mixture_metrics(x, data.means, data.std).items()}
    gen, real, means = x.double().numpy(), data.x.double().numpy(), data.means.double().numpy()
    size = min(MMD_SAMPLES, len(gen), len(real))
    mmd = subsampled_mmd2(gen, real, data.std, size, derive_seed(spec["seed"], "mmd", rnd))
    values[f"spread_ratio_{_protocol(len(gen))}"] = spread_ratio(gen, real, means, data.std)
    values[f"mmd2_rbf_{_protocol(size)}"] = mmd
    return values


def _evaluator_metrics(evaluator, x, y_gen, dominant: np.ndarray | None, tag: str, classified) -> dict[str, float]:
    from .metrics.evaluator import evaluator_metrics

    values = evaluator_metrics(evaluator, x, y_gen.numpy(), dominant, classified)
    return {f"{k}_{tag}": v for k, v in values.items()}


def _msssim_by_true_class(spec: dict, rnd: int, x, predicted: np.ndarray, data: Dataset, stem: str) -> dict[str, float]:
    """Within-class diversity on one footing for every method, conditional or not: generated samples
    grouped by the class the evaluator reads in them (``predicted``: ``_gen_intra_clf``), real samples by
    their true class (``_real_intra_truth``); issue 13's comparison (docs/metrics.md)."""
    pairs, total = int(spec["msssim_pairs"]), int(spec["msssim_pairs_total"])
    seed = derive_seed(spec["seed"], "msssim-truth", rnd)
    return {
        f"{stem}_gen_intra_clf": intra_class_msssim(x, predicted, pairs, seed, total),
        f"{stem}_real_intra_truth": intra_class_msssim(data.x, data.y.numpy(), pairs, seed, total),
    }


def dominant_truth(labels: LabelRound, truth: np.ndarray) -> np.ndarray:
    """Per class of ``labels``, the true class most of its members have (-1 for an empty class): what a
    sample generated for that class should look like, for ``clf_class_agreement``."""
    member_truth = truth[labels.sample_index]
    dominant = np.full(labels.k, -1, dtype=np.int64)
    for c in np.unique(labels.labels):
        dominant[c] = np.bincount(member_truth[labels.labels == c]).argmax()
    return dominant


def evaluate_round(
    spec: dict,
    rnd: int,
    model: str,
    labels_path: str | None,
    out: str,
    evaluator_path: str | None = None,
    data: Dataset | None = None,
) -> dict[str, float]:
    """Compute every cheap model metric that applies to this run's dataset at round ``rnd`` and write ``out``.

    2D mixtures: modes, high-quality share, reverse KL, spread ratio, MMD². With an evaluator: its ``clf_*`` metrics.
    Images: intra-class MS-SSIM of generated samples and, given the labels the model was trained on,
    of the real members of each of those classes (the diversity G was asked to reproduce); see :func:`_image_metrics`.
    ``data``: the run's dataset when the caller has it loaded already.
    """
    device = pick_device(spec)
    data = data if data is not None else load_run_dataset(spec)
    values: dict[str, float] = {}
    n = spec["eval_samples"]
    tag = _protocol(n)
    labels = read_labels(labels_path, n_samples=len(data)) if labels_path else None
    stages = Stages(f"evaluate round {rnd}")  # one log line per stage: where a long evaluation is
    if data.means is not None or evaluator_path or data.is_image:
        G, state = _generator(model, device)
        x, y_gen = generate(
            G, n, state["arch"]["z_dim"], class_weights(state), derive_seed(spec["seed"], "eval", rnd), device
        )
        stages.done(f"{n:,} samples generated")
        if data.means is not None:
            values.update(_mixture_metrics(spec, rnd, x, data, tag))
        predicted = None  # the evaluator's class of each sample, where it reads one class per image
        if evaluator_path:
            from .metrics.evaluator import load_evaluator

            evaluator = load_evaluator(evaluator_path)
            classified = evaluator.classify(x)
            # G's classes are the labels' when it trained on them (not so for a split round's new classes)
            truth = labels is not None and data.y is not None and labels.k == int(state["arch"]["n_classes"])
            dominant = dominant_truth(labels, data.y.numpy()) if truth else None
            values.update(_evaluator_metrics(evaluator, x, y_gen, dominant, tag, classified))
            # Stacked MNIST's per-channel evaluator reads triples: 1,000 classes, too many pairs for a CPU.
            predicted = None if evaluator.per_channel(x) else classified[0]
        if data.is_image:
            values.update(_image_metrics(spec, rnd, x, y_gen, labels, data, predicted))
    stages.done(f"{len(values)} metrics computed")
    write_metric_rows(spec, rnd, values, out)
    return values


def _image_metrics(
    spec: dict, rnd: int, x, y_gen, labels: LabelRound | None, data: Dataset, predicted: np.ndarray | None
) -> dict[str, float]:
    """Intra-class MS-SSIM of the generated samples and (given the labels G trained on) of those classes'
    real members; at the final round also the nearest-neighbour check and, given the evaluator's class of
    each sample (``predicted``), the MS-SSIM by true class (:func:`_msssim_by_true_class`)."""
    pairs, total = int(spec["msssim_pairs"]), int(spec["msssim_pairs_total"])
    stem = protocol_name(data.x.shape[-1])
    seed = derive_seed(spec["seed"], "msssim", rnd)
    values = {f"{stem}_gen_intra": intra_class_msssim(x, y_gen.numpy(), pairs, seed, total)}
    if labels is not None:
        real = data.x[labels.sample_index]
        values[f"{stem}_real_intra"] = intra_class_msssim(real, labels.labels, pairs, seed, total)
    if rnd == int(spec["rounds"]):  # the final model: does it copy the training set?
        values.update(_nearest_neighbour_metrics(spec, rnd, x, data))
        if predicted is not None and data.y is not None:
            values.update(_msssim_by_true_class(spec, rnd, x, predicted, data, stem))
    return values


def _nearest_neighbour_metrics(spec: dict, rnd: int, x, data: Dataset) -> dict[str, float]:
    """``nn_*_{n}`` of the first ``nn_samples`` evaluation samples against the training set."""
    from .metrics.nearest import nearest_neighbour_metrics

    n = min(int(spec["nn_samples"]), len(x))
    seed = derive_seed(spec["seed"], "nn-probe", rnd)
    return {f"{k}_{_protocol(n)}": v for k, v in nearest_neighbour_metrics(x[:n], data.x, seed).items()}


def evaluate_final(spec: dict, rnd: int, model: str, out: str, reference_stats: str | None = None) -> dict[str, float]:
    """FID/IS of the final round by the papers' protocol, against the dataset's cached reference
    statistics (metrics/inception.py); runs with ``fid: true`` only."""
    if not spec["fid"]:
        raise ConfigError(f"run {spec['name']}: evaluate-final computes FID/IS, and the run has fid: false")
    device = pick_device(spec)
    G, state = _generator(model, device)
    values = _fid_and_is(spec, rnd, G, state["arch"]["z_dim"], class_weights(state), reference_stats, device)
    write_metric_rows(spec, rnd, values, out)
    return values


def _fid_and_is(spec: dict, rnd: int, G, z_dim: int, weights, reference_stats: str | None, device) -> dict[str, float]:
    """``fid{n}_train`` (n generated images against the training set's statistics) and ``is{n}_10splits``."""
    from .metrics.inception import IS_SPLITS, fid_and_is, read_reference_stats

    if reference_stats is None:
        raise ConfigError(f"run {spec['name']}: fid: true needs --reference-stats (the dataset's reference_stats file)")
    reference, provenance = read_reference_stats(reference_stats)
    n = int(spec["fid_samples"] or provenance["n"])  # default: as many as the reference set, the papers' protocol
    x, _ = generate(G, n, z_dim, weights, derive_seed(spec["seed"], "fid", rnd), device)
    metrics = fid_and_is(x, reference, derive_seed(spec["seed"], "fid-splits"), device.type == "cuda")
    tag = _protocol(n)
    # Against the whole training set, hence _train (StyleGAN's fid50k_full naming); IS with its split count.
    return {
        f"fid{tag}_train": metrics["fid"],
        f"is{tag}_{IS_SPLITS}splits": metrics["is"],
        f"is{tag}_{IS_SPLITS}splits_std": metrics["is_std"],
    }


def reference_stats(dataset_name: str, dataset_spec: dict, out: str) -> dict:
    """The Inception statistics of a dataset's whole training set, for every FID of that dataset."""
    from .metrics.inception import EXTRACTOR, WEIGHTS_NAME, reference_statistics, write_reference_stats

    data = load_dataset(dataset_spec, dataset_name)
    if not data.is_image:
        raise ConfigError(f"dataset {dataset_name}: FID reference statistics need images; set fid: false for its runs")
    device = pick_device({"device": "auto", "name": dataset_name})
    stats = reference_statistics(data.x, device.type == "cuda")
    provenance = {"dataset": dataset_name, "spec": dataset_spec, "n": len(data), "extractor": EXTRACTOR}
    write_reference_stats(out, stats, {**provenance, "weights": WEIGHTS_NAME})
    return provenance
