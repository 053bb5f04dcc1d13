"""The labels that need torch: round 0's labels from the dataset, and slcgan's argmax C(x).

- ``dataset`` (round 0 of ``uncond``, ``acgan``, ``random`` and ``splitting``): one class, the
  ground truth, or seeded uniform classes. The datasets are built with torch (the 2D mixtures
  draw from torch's generator), so these labels are made here.
- ``clusterer`` (``slcgan``, every round): labels = argmax C(x) of the clustering network in the
  round's model.pt (round 0: the untrained C), centroids = class means of C's features.

Every other round (k-means, splits, labels carried forward) is relabel.py, which needs no torch;
``relabel.label_source`` says which module a round takes. The files written are the same
labels.h5 format either way.
"""

from __future__ import annotations

import numpy as np
import torch

from .artifacts import ArtifactError, LabelRound, provenance, read_labels, write_labels
from .checkpoint import load_checkpoint
from .datasets import load_dataset
from .device import pick_device
from .kmeans import cluster_means
from .methods import get_method
from .relabel import base_attrs, class_parents, read_round_features
from .seeding import derive_seed
from .slcgan import cluster_labels, load_clusterer


def dataset_round(spec: dict, out: str) -> LabelRound:
    """Round 0's labels of a method that does not cluster at round 0; written to ``out``."""
    method = get_method(spec["method"])
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    n, k = len(data), method.n_classes(spec, data)
    if method.start_classes(spec) == "dataset":
        if data.y is None:
            raise ValueError(f"method {method.name!r} needs ground-truth labels, dataset {spec['dataset']!r} has none")
        labels = data.y.numpy()
    elif method.name == "random":
        labels = np.random.default_rng(derive_seed(spec["seed"], "relabel", 0)).integers(0, k, size=n)
    else:
        labels = np.zeros(n, dtype=np.int64)
    attrs = base_attrs(method, spec, 0, None)
    result = LabelRound(labels, np.full(k, -1), np.zeros((k, 0), np.float32), np.arange(n), attrs)
    write_labels(out, result)
    return result


def clusterer_round(
    spec: dict, rnd: int, out: str, features_path: str | None, previous_path: str | None, model_path: str | None
) -> LabelRound:
    """slcgan: labels = argmax C(x) under the round's checkpoint; written to ``out``.

    Class c is output c of C in every round, so no matching is needed; ``parent`` records where
    each class's members were in the previous round, as for the other methods.
    """
    method = get_method(spec["method"])
    if model_path is None:
        raise ValueError(f"method {method.name!r} reads its labels from the round's model: pass --model")
    if features_path is None:
        raise ValueError(f"method {method.name!r} relabels from features: pass --features")
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    previous = read_labels(previous_path, n_samples=len(data)) if previous_path else None
    features, sample_index = read_round_features(spec, features_path, previous)
    if len(features) != len(data):
        raise ArtifactError(f"{features_path}: {len(features)} rows but the dataset has {len(data)} samples; rerun extract")
    device = pick_device(spec)
    C = load_clusterer(load_checkpoint(model_path), device, model_path)
    labels = cluster_labels(C, data.x[torch.from_numpy(sample_index)], spec["extract_batch"], device)
    k = C.n_classes
    parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
    attrs = {
        **base_attrs(method, spec, rnd, previous_path),
        "source_features": provenance(features_path),
        "source_model": provenance(model_path),
        "labels_from": "argmax C(x)",
    }
    result = LabelRound(labels, parent, cluster_means(features, labels, k)[0], sample_index, attrs)
    write_labels(out, result)
    return result
