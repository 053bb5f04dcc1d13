"""What a round's job writes beside its model.pt while the model is at hand.

Every phase (``relabelgan train``) and the initialisation (``relabelgan init``) end by writing the
round's features.h5 (training/features.py: D's features, the ground truth and slcgan's argmax C(x),
which the torch-free relabel step reads) and its model metrics.csv (metrics/evaluation.py), from the
networks, checkpoint and labels the job holds: no model or labels file is read back. The files, and
the commands that remake them from any model.pt (`extract`, `evaluate`), are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from torch import nn

from ..core.artifacts import LabelRound
from ..core.progress import Stages
from ..data.base import Dataset
from ..metrics.context import RoundContext
from ..metrics.evaluation import evaluate_model
from ..networks import Generator
from .device import pick_device
from .features import extract_features


@dataclass(frozen=True)
class RoundOutputs:
    """Paths of the round's artifacts beside model.pt; ``evaluator``: the dataset's evaluator.pt, if any."""

    features: str
    metrics: str
    evaluator: str | None = None


def write_round_outputs(
    spec: dict,
    rnd: int,
    state: dict,
    model: str,
    labels: LabelRound | None,
    outputs: RoundOutputs,
    data: Dataset,
    networks: dict[str, nn.Module],
) -> None:
    """features.h5 and metrics.csv of the model ``networks`` / ``state`` just written to ``model``;
    ``labels``: those it was trained on (None at round 0)."""
    from ..metrics.evaluator import load_evaluator

    stages = Stages(f"round {rnd} outputs")
    extract_features(spec, rnd, networks, model, outputs.features, data)
    stages.done(f"features written to {outputs.features}")
    evaluator = load_evaluator(outputs.evaluator) if outputs.evaluator else None
    G = cast(Generator, networks["G"])
    ctx = RoundContext(spec, rnd, G, state, data, labels, pick_device(spec), evaluator)
    evaluate_model(ctx, outputs.metrics)
    stages.done(f"metrics written to {outputs.metrics}")
