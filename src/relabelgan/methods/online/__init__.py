"""`online`: the self-conditioned GAN's online clustering baseline (Liu et al., section 3 and Table 2:
"Online Clustering"; the reference code's clusterers/online.py).

Round 0 is selfcond's (k-means of the random-init D's features, or the truth with ``init_labels``).
During a phase the real batch's classes come from k centroids in D's feature space that move with
every D step (MacQueen's online k-means): the method's network K holds them (centroids.py), and its
objective relabels the real batch from K and updates K before D's loss. Phase 1 starts K at round 0's
centroids; K then carries on from phase to phase in the checkpoints (``online.reset_counts`` zeroes
its counts at each phase start). At the end of a phase the training set's nearest K centroids are
stored in features.h5 (column ``assigned``) and become that round's labels: centroids there are the
members' means in the round's features, parents the previous class that gave each most members.
Class c is K's centroid c in every round: no matching. docs/methods.md gives the choices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...core.artifacts import ArtifactError, LabelRound
from ..base import RoundFeatures, assigned_round
from ..selfcond import SelfConditioned

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ...training.losses import Objective


class OnlineClustering(SelfConditioned):
    name = "online"

    def make_loss(self, spec: dict) -> Objective:
        from .centroids import OnlineLoss

        return OnlineLoss(super().make_loss(spec))  # selfcond's non-saturating loss on k heads

    def extra_networks(self, spec: dict, arch: dict) -> dict[str, dict]:
        from .centroids import feature_dim

        k, dim = int(arch["n_classes"]), feature_dim(arch)
        # reset_counts is how K is trained, kept in its record: start_model sees the checkpoint, not the run.
        return {
            "K": {"kind": "online_centroids", "k": k, "dim": dim, "reset_counts": bool(spec["online"]["reset_counts"])}
        }

    def build_extra_network(self, name: str, record: dict):
        from .centroids import build_centroids

        if name != "K":
            return super().build_extra_network(name, record)
        return build_centroids(record)

    def start_model(self, state: dict[str, Any], labels: LabelRound, labels_path: str, model_in: str) -> dict[str, Any]:
        from .centroids import start_centroids

        state = super().start_model(state, labels, labels_path, model_in)
        if "K" not in state.get("networks", {}) or "K" not in state.get("extra_arch", {}):
            raise ArtifactError(
                f"{model_in}: has no network K (the online centroids); it was not made for method 'online'. "
                "Rerun `relabelgan init` for this run."
            )
        try:
            start_centroids(state, labels.centroids, bool(state["extra_arch"]["K"]["reset_counts"]), labels_path)
        except ValueError as e:
            raise ArtifactError(f"{e}; rerun relabel for round 0 of this run") from None
        return state

    def trained_class_sizes(
        self, networks: dict[str, nn.Module], x: torch.Tensor, spec: dict, device: torch.device
    ) -> np.ndarray:
        from .centroids import OnlineCentroids, assigned_column

        # The classes moved with K during the phase: G's last steps drew the final assignment's.
        K = networks["K"]
        assert isinstance(K, OnlineCentroids)
        return np.bincount(assigned_column(self.feature_network(networks)[0], K, x, spec, device), minlength=K.k)

    def label_source(self, spec: dict, rnd: int) -> str:
        return super().label_source(spec, rnd) if rnd == 0 else "clusterer"

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        if rnd == 0:
            return super().make_labels(spec, rnd, round_features, previous)
        missing = "the nearest online centroid of every sample; it was not made by a phase of method 'online'"
        return assigned_round(round_features, previous, "online_classes", "nearest online centroid", missing)

    def feature_columns(
        self, net, x: torch.Tensor, spec: dict, device: torch.device, networks: dict[str, nn.Module]
    ) -> tuple[dict, dict]:
        from .centroids import OnlineCentroids, assigned_column

        K = networks.get("K")
        if not isinstance(K, OnlineCentroids) or not bool(K.started):
            return {}, {}  # round 0: K is set when phase 1 starts, round 0's labels are k-means'
        return {"assigned": assigned_column(net, K, x, spec, device)}, {"online_classes": K.k}
