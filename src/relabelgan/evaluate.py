"""`relabelgan evaluate`, `evaluate-final` and `reference-stats`: a model's metrics as tidy rows
(run, seed, round, metric, value).

``evaluate_round`` remakes a round's metrics.csv from any model.pt (the phase writes it itself, from
the model it holds: training/round_outputs.py); which metrics apply is the registry's business
(metrics/registry.py). ``evaluate_final`` holds FID/IS (runs with ``fid: true``, final round),
``reference_stats`` the training set's Inception statistics they compare with (docs/metrics.md lists
every metric and its protocol).
"""

from __future__ import annotations

from .core.artifacts import read_labels
from .core.errors import ConfigError
from .core.seeding import derive_seed
from .core.tidy import write_metric_rows
from .data import load_dataset, load_run_dataset
from .metrics.context import RoundContext
from .metrics.evaluation import evaluate_model
from .metrics.evaluator import load_evaluator
from .metrics.registry import protocol
from .training.checkpoint import load_checkpoint, load_networks
from .training.device import pick_device
from .training.samples import class_weights, generate


def _generator(model: str, device):
    state = load_checkpoint(model)
    G, _ = load_networks(state, device)
    return G, state


def evaluate_round(
    spec: dict, rnd: int, model: str, labels_path: str | None, out: str, evaluator_path: str | None = None
) -> dict[str, float]:
    """Every per-round metric of the model at ``model`` (metrics/registry.py), written to ``out``;
    ``labels_path``: the labels it was trained on (None at round 0)."""
    device = pick_device(spec)
    data = load_run_dataset(spec)
    G, state = _generator(model, device)
    labels = read_labels(labels_path, n_samples=len(data)) if labels_path else None
    evaluator = load_evaluator(evaluator_path) if evaluator_path else None
    return evaluate_model(RoundContext(spec, rnd, G, state, data, labels, device, evaluator), out)


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
    tag = protocol(n)
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
