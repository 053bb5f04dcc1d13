"""What a round's job writes beside its model.pt while the model is at hand.

Every phase (``relabelgan train``) and the initialisation (``relabelgan init``) end by writing the
round's features.h5 (extract.py: D's features, the ground truth and slcgan's argmax C(x), which the
torch-free relabel step reads) and its model metrics.csv (evaluate.py). Doing it in the job that
already holds torch and the model saves a process start and a torch import per artifact
(docs/performance.md); the files, and the commands that remake them from any model.pt, are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.progress import Stages
from ..data import load_run_dataset
from ..data.base import Dataset
from ..evaluate import evaluate_round
from ..extract import extract_features


@dataclass(frozen=True)
class RoundOutputs:
    """Paths of the round's artifacts beside model.pt; ``evaluator``: the dataset's evaluator.pt, if any."""

    features: str
    metrics: str
    evaluator: str | None = None


def write_round_outputs(
    spec: dict, rnd: int, model: str, labels: str | None, outputs: RoundOutputs, data: Dataset | None = None
) -> None:
    """features.h5 and metrics.csv of ``model``; ``labels``: those it was trained on (None at round 0);
    ``data``: the dataset the job already holds (loaded once here otherwise)."""
    stages = Stages(f"round {rnd} outputs")
    data = data if data is not None else load_run_dataset(spec)
    extract_features(spec, rnd, model, outputs.features, data)
    stages.done(f"features written to {outputs.features}")
    evaluate_round(spec, rnd, model, labels, outputs.metrics, outputs.evaluator, data)
    stages.done(f"metrics written to {outputs.metrics}")
