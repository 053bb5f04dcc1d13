"""`slcgan`: the self-labeled conditional GAN (Noroozi): a clustering network C trained with G and a
projection D (the objective and C are slcgan.py); a round's labels are argmax C(x).

The phase stores argmax C(x) in features.h5 (column ``assigned``, beside C's penultimate features), so
the relabel step reads them without torch. Class c is C's output c in every round: no matching.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.artifacts import ArtifactError, LabelRound
from ..base import Method, RoundFeatures, check_cluster_count, class_parents

if TYPE_CHECKING:
    import torch


class SelfLabeled(Method):
    name = "slcgan"
    conditioning = "projection"
    loss = "slcgan"
    relabels = True
    assigns_by = "clusterer"  # new data: argmax C(x)

    def check_run(self, name: str, run: dict, n_samples: int | None, source: str) -> None:
        check_cluster_count(name, run, n_samples, source, kmeans_subset=False)  # C, not k-means, makes the classes

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        return int(spec["k"])

    def fake_classes(self, spec: dict) -> str:
        return "uniform"  # the paper samples G's classes uniformly

    def label_source(self, spec: dict, rnd: int) -> str:
        return "clusterer"

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        from ...core.kmeans import cluster_means

        labels = round_features.column("assigned")
        if labels is None or "clusterer_classes" not in round_features.attrs:
            raise ArtifactError(
                f"{round_features.path}: has no column 'assigned' (argmax C(x)); it was not made "
                "for slcgan, rerun the phase"
            )
        k = int(round_features.attrs["clusterer_classes"])
        parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
        attrs = {"labels_from": "argmax C(x)", "source_model": round_features.attrs.get("model", "")}  # C's checkpoint
        centroids = cluster_means(round_features.features, labels, k)[0]
        return LabelRound(labels, parent, centroids, round_features.sample_index, attrs)

    def feature_network(self, state: dict[str, Any], device: torch.device, model: str):
        from .objective import load_clusterer

        return load_clusterer(state, device, model), "clusterer_penultimate"

    def feature_columns(self, net, x: torch.Tensor, spec: dict, device: torch.device) -> tuple[dict, dict]:
        from .objective import cluster_labels

        assigned = cluster_labels(net, x, spec["extract_batch"], device)
        return {"assigned": assigned}, {"clusterer_classes": int(net.n_classes)}
