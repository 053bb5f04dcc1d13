"""`relabelgan relabel`: the labels phase r+1 trains on, made from features r and labels r-1.

The run's method makes them (methods/: ``make_labels``); this step reads the round's features.h5
and the previous labels.h5, refuses files made for another run or other samples, writes labels.h5
with its provenance, and scores the labels against the ground truth (NMI, purity, accuracy:
:func:`label_quality`).

This module needs no torch and no dataset: features.h5 carries the dataset's ground truth and
slcgan's argmax C(x) as columns, written by the phase that made the model, and the methods cluster
with scikit-learn (or cuML).
"""

from __future__ import annotations

from .core.artifacts import (
    ArtifactError,
    LabelRound,
    provenance,
    read_feature_column,
    read_features,
    read_labels,
    write_labels,
)
from .core.tidy import write_metric_rows
from .methods import RoundFeatures, get_method
from .metrics.clustering import clustering_metrics


def read_round_features(spec: dict, features_path: str, previous: LabelRound | None) -> RoundFeatures:
    """A round's features.h5, refused when made for another run or other samples."""
    feats, sample_index, attrs = read_features(features_path)
    if attrs.get("run", spec["name"]) != spec["name"]:
        raise ArtifactError(f"{features_path}: made for run {attrs['run']!r}, not {spec['name']!r}; rerun the phase")
    if previous is not None and len(feats) != len(previous.labels):
        raise ArtifactError(
            f"{features_path}: {len(feats)} rows but the previous labels hold {len(previous.labels)} samples; rerun the phase"
        )
    return RoundFeatures(features_path, feats, sample_index, attrs)


def relabel(spec: dict, rnd: int, out: str, features_path: str, previous_path: str | None = None) -> LabelRound:
    """Make round ``rnd``'s labels.h5 from the round's features.h5 and the previous labels; write ``out``."""
    method = get_method(spec["method"])
    previous = read_labels(previous_path) if previous_path else None
    round_features = read_round_features(spec, features_path, previous)
    result = method.make_labels(spec, rnd, round_features, previous)
    attrs: dict = {"method": method.name, "round": rnd, "seed": spec["seed"], "run": spec["name"]}
    if previous_path:
        attrs["source_labels"] = provenance(previous_path)
    attrs["source_features"] = provenance(features_path)
    result.attrs = {**attrs, **result.attrs}
    write_labels(out, result)
    return result


def label_quality(features_path: str, labels: LabelRound) -> dict[str, float]:
    """NMI, purity and accuracy of ``labels`` against the ground truth stored in features.h5 ({} without one)."""
    truth = read_feature_column(features_path, "truth")
    if truth is None:
        return {}
    return {f"labels_{k}": v for k, v in clustering_metrics(labels.labels, truth[labels.sample_index]).items()}


def write_label_quality(spec: dict, rnd: int, features_path: str, labels: LabelRound, out: str) -> None:
    """The round's label metrics as tidy rows (no rows for a dataset without ground truth)."""
    write_metric_rows(spec, rnd, label_quality(features_path, labels), out)
