"""`slcgan`: the self-labeled conditional GAN (Noroozi): a clustering network C trained with G and a
projection D (the objective and C are slcgan.py); a round's labels are argmax C(x).

The phase stores argmax C(x) in features.h5 (column ``assigned``, beside C's penultimate features), so
the relabel step reads them without torch. Class c is C's output c in every round: no matching.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.artifacts import LabelRound
from ...training.plan import Sampling, UpdateSpec, gan_updates
from ..base import Method, RoundFeatures, assigned_round, check_cluster_count

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ...training.losses import Objective


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

    def make_loss(self, spec: dict) -> Objective:
        from .objective import SlcGANLoss

        return SlcGANLoss(spec)  # hinge loss, the MI loss for G, and C's own loss

    def sampling(self, spec: dict) -> Sampling:
        return Sampling(fake_classes="uniform")  # the paper samples G's classes uniformly

    def updates(self, spec: dict) -> list[UpdateSpec]:
        # After G: C's own step on a fresh real batch (Algorithm 1, lines 22-28).
        return [*gan_updates(spec["d_steps"]), UpdateSpec("C", "lr_c", "real")]

    def extra_networks(self, spec: dict, arch: dict) -> dict[str, dict]:
        from .clusterer import clusterer_arch

        cfg = spec["slcgan"]
        width, dim, norm = int(spec["width"]), int(cfg["feature_dim"]), str(cfg["c_norm"])
        return {"C": clusterer_arch(arch["data_shape"], arch["n_classes"], width, dim, norm)}

    def build_extra_network(self, name: str, record: dict):
        from .clusterer import build_clusterer

        if name != "C":
            return super().build_extra_network(name, record)
        return build_clusterer(record)

    def label_source(self, spec: dict, rnd: int) -> str:
        return "clusterer"

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        missing = "argmax C(x); it was not made for slcgan"
        return assigned_round(round_features, previous, "clusterer_classes", "argmax C(x)", missing)

    def feature_network(self, networks: dict[str, nn.Module]) -> tuple[nn.Module, str]:
        return networks["C"], "clusterer_penultimate"

    def feature_columns(
        self, net, x: torch.Tensor, spec: dict, device: torch.device, networks: dict[str, nn.Module]
    ) -> tuple[dict, dict]:
        from .objective import cluster_labels

        assigned = cluster_labels(net, x, spec["extract_batch"], device)
        return {"assigned": assigned}, {"clusterer_classes": int(net.n_classes)}
