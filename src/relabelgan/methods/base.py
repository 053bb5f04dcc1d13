"""The interface every method implements, and the behaviour of a method whose labels never change.

A method (stevliu/self-conditioned-gan keeps one class per relabel strategy in ``clusterers/``) says
how many classes round 0 has, how D is conditioned and which objective trains the pair, where each
round's labels come from, what the phase does before its first step, which network's features the
round stores, and how new data is labelled. The steps (init, train, extract, relabel, assign), the
config check and the workflow ask the method; none of them branches on which method it is.

Importing a method module needs neither torch nor scikit-learn: the relabel step and the Snakefile
read the registry. A hook that needs them imports them when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..core.artifacts import ArtifactError, LabelRound, read_feature_column
from ..core.errors import ConfigError
from ..training.plan import Sampling, UpdateSpec, gan_updates

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..training.losses import Objective


@dataclass(frozen=True)
class RoundFeatures:
    """A round's features.h5, read: what a method makes that round's labels from."""

    path: str
    features: np.ndarray
    sample_index: np.ndarray
    attrs: dict

    def column(self, name: str) -> np.ndarray | None:
        """A per-sample column (``truth``, ``assigned``), or None when the file has none."""
        return read_feature_column(self.path, name)


class Method:
    """A method whose round-0 labels hold for every phase (the unconditional GAN's one class)."""

    name: ClassVar[str]
    conditioning: ClassVar[str]  # how D sees the class (networks.conditional.CONDITIONINGS)
    # what a run's d_conditioning may choose besides auto (the method's own conditioning)
    other_conditionings: ClassVar[tuple[str, ...]] = ()
    loss: ClassVar[str] = "nonsaturating"  # a key of training.losses.LOSSES, unless make_loss builds the method's own
    relabels: ClassVar[bool] = False  # a labels.h5 per round; otherwise round 0's hold throughout
    ac_samples: ClassVar[str] = "real"  # what an 'ac' D's classifier learns on when ac_d_samples is 'auto'
    fakes: ClassVar[str] = "independent"  # how a batch's fakes get their classes when fake_batch is 'auto'
    assigns_by: ClassVar[str | None] = None  # how `relabelgan assign` labels new data (assign.ASSIGNERS)

    # ------------------------------------------------------------------ config and networks
    def check_run(self, name: str, run: dict, n_samples: int | None, source: str) -> None:
        """Refuse keys this method cannot train with before anything runs (ConfigError naming the key)."""

    def d_conditioning(self, spec: dict) -> str:
        """How this run's D sees the class: the method's own, or the run's ``d_conditioning`` choice."""
        chosen = spec.get("d_conditioning", "auto")
        return self.conditioning if chosen == "auto" else chosen

    def n_classes(self, spec: dict, dataset_classes: int | None) -> int:
        """Class count of round 0's labels and of the initial networks."""
        return 1

    def class_tree(self, k: int) -> dict | None:
        """The class tree G conditions through, for methods whose classes split (else None)."""
        return None

    @property
    def gradient_penalty(self) -> bool:
        """Whether this method's D is a WGAN-GP critic, whose per-sample penalty rules out BatchNorm in D."""
        return self.loss == "wgan_gp"

    def ac_d_samples(self, spec: dict) -> str:
        """What an 'ac' D's classifier learns on: the run's ``ac_d_samples``, 'auto' = this method's own."""
        return self.ac_samples if spec["ac_d_samples"] == "auto" else spec["ac_d_samples"]

    def fake_batch(self, spec: dict) -> str:
        """How a batch's fakes get their classes: the run's ``fake_batch``, 'auto' = this method's own."""
        return self.fakes if spec["fake_batch"] == "auto" else spec["fake_batch"]

    def make_loss(self, spec: dict) -> Objective:
        from ..training.losses import make_loss

        return make_loss(self.loss, spec, classifies_fakes=self.ac_d_samples(spec) == "real_and_fake")

    # ------------------------------------------------------------------ labels
    def label_source(self, spec: dict, rnd: int) -> str:
        """Where round ``rnd``'s labels come from: 'dataset' (round 0), 'previous' (carried forward),
        'features' (clustered or split from features.h5) or 'clusterer' (a network's own assignment that
        the phase stored in features.h5: slcgan's argmax C(x), online's nearest centroid of K)."""
        return "dataset" if rnd == 0 else "previous"

    def labels_round(self, rnd: int) -> int:
        """The round whose labels.h5 holds at round ``rnd`` (the workflow's label files)."""
        return rnd if self.relabels else 0

    def make_labels(
        self, spec: dict, rnd: int, round_features: RoundFeatures, previous: LabelRound | None
    ) -> LabelRound:
        """Round ``rnd``'s labels from its features.h5 and the previous round's labels."""
        if rnd == 0:
            return self.first_labels(spec, round_features)
        return carried_forward(previous, self.name, rnd)

    def first_labels(self, spec: dict, round_features: RoundFeatures) -> LabelRound:
        """Round 0's labels when they do not come from clustering: here one class for every sample."""
        n = len(round_features.features)
        return fixed_round(np.zeros(n, dtype=np.int64), 1)

    # ------------------------------------------------------------------ training
    def start_model(self, state: dict[str, Any], labels: LabelRound, labels_path: str, model_in: str) -> dict[str, Any]:
        """Model r-1 as phase r starts from it; refused when the labels' class count is not the model's."""
        if labels.k != state["arch"]["n_classes"]:
            raise ArtifactError(
                f"{labels_path}: has {labels.k} classes but {model_in} was built for {state['arch']['n_classes']}; "
                f"method {self.name!r} keeps the class count fixed. Rerun relabel for this round."
            )
        return state

    def sampling(self, spec: dict) -> Sampling:
        """How the phase's batches get their classes (training/plan.py): fakes in proportion to the
        class sizes, reals with their own labels; paired or not as :meth:`fake_batch` says."""
        return Sampling(paired=self.fake_batch(spec) == "paired")

    def updates(self, spec: dict) -> list[UpdateSpec]:
        """The phase's update list: D ``d_steps`` times, then G (methods with networks of their own add theirs)."""
        return gan_updates(spec["d_steps"])

    def trained_class_sizes(
        self, networks: dict[str, nn.Module], x: torch.Tensor, spec: dict, device: torch.device
    ) -> np.ndarray | None:
        """Class sizes of what G ended the phase trained on, when the classes moved during the phase (the
        final model's ``class_sizes``, by which its metrics and samples draw G's classes); None: the
        labels file's, which the phase trained on throughout."""
        return None

    def extra_networks(self, spec: dict, arch: dict) -> dict[str, dict]:
        """Architecture records of the networks this method trains beside G and D, by name (none here)."""
        return {}

    def build_extra_network(self, name: str, record: dict):
        """The (untrained) network ``name`` of :meth:`extra_networks` from its record."""
        raise ArtifactError(f"method {self.name!r} has no network {name!r}")

    # ------------------------------------------------------------------ features
    def feature_network(self, networks: dict[str, nn.Module]) -> tuple[nn.Module, str]:
        """(network, layer name) whose ``features(x)`` a round's features.h5 stores: D's last hidden layer."""
        return networks["D"], "last_hidden"

    def feature_columns(
        self, net, x: torch.Tensor, spec: dict, device: torch.device, networks: dict[str, nn.Module]
    ) -> tuple[dict, dict]:
        """(per-sample columns, attributes) the method adds to features.h5 beside the ground truth.

        ``net``: the feature network (on ``device``); ``networks``: every network of the same model by
        name, for a column that needs another one (online's nearest centroid of its network K)."""
        return {}, {}


def fixed_round(labels: np.ndarray, k: int) -> LabelRound:
    """Labels that were not clustered: no parents, no centroids."""
    n = len(labels)
    return LabelRound(labels, np.full(k, -1), np.zeros((k, 0), np.float32), np.arange(n), {})


def carried_forward(previous: LabelRound | None, method: str, rnd: int) -> LabelRound:
    """The previous round's labels unchanged; each class is its own parent."""
    if previous is None:
        raise ArtifactError(f"round {rnd} of method {method!r} carries the previous labels forward: pass --previous")
    return LabelRound(previous.labels, np.arange(previous.k), previous.centroids, previous.sample_index, {})


def ground_truth_round(spec: dict, round_features: RoundFeatures, method: str) -> LabelRound:
    """The dataset's own classes, from the ``truth`` column the phase stored in features.h5."""
    labels = round_features.column("truth")
    if labels is None:
        raise ArtifactError(
            f"{round_features.path}: dataset {spec['dataset']!r} has no ground-truth labels, "
            f"which method {method!r} starts from; pick a dataset with labels or another method"
        )
    return fixed_round(labels, int(round_features.attrs["truth_classes"]))


def class_parents(previous: LabelRound, labels: np.ndarray, k: int) -> np.ndarray:
    """For each new class, the previous class that gave it most members (-1 if it has none)."""
    from ..metrics.clustering import contingency

    both = contingency(previous.labels, labels, previous.k, k)
    parent = both.argmax(0)
    parent[both.sum(0) == 0] = -1
    return parent


def check_cluster_count(name: str, run: dict, n_samples: int | None, source: str, kmeans_subset: bool) -> None:
    """k classes need at least k samples (and k-means on a subset at least k of those): caught before a phase."""
    k = run["k"]
    subset = run["kmeans"]["subset"]
    if kmeans_subset and k > subset:
        raise ConfigError(
            f"{source}: runs.{name}.k is {k}, more than kmeans.subset ({subset}) k-means fits on; "
            "lower k or raise kmeans.subset"
        )
    if n_samples is not None and k > n_samples:
        raise ConfigError(
            f"{source}: runs.{name}.k is {k}, more than the {n_samples} samples of dataset {run['dataset']!r}; lower k"
        )


def assigned_round(
    round_features: RoundFeatures, previous: LabelRound | None, classes_attr: str, labels_from: str, missing: str
) -> LabelRound:
    """A round whose labels a phase stored in features.h5 (column ``assigned``, class count in attribute
    ``classes_attr``: slcgan's argmax C(x), online's nearest centroid); parents from the previous round,
    centroids the members' means. ``missing``: what to tell the user when the column is not there."""
    from ..core.kmeans import cluster_means

    labels = round_features.column("assigned")
    if labels is None or classes_attr not in round_features.attrs:
        raise ArtifactError(f"{round_features.path}: has no column 'assigned' ({missing}); rerun the phase")
    k = int(round_features.attrs[classes_attr])
    parent = class_parents(previous, labels, k) if previous is not None else np.full(k, -1)
    centroids = cluster_means(round_features.features, labels, k)[0]
    attrs = {"labels_from": labels_from, "source_model": round_features.attrs.get("model", "")}
    return LabelRound(labels, parent, centroids, round_features.sample_index, attrs)
