"""`relabelgan evaluate`: one round's metrics as tidy rows (run, seed, round, metric, value).

A metric's name carries its protocol: ``modes_50k`` is counted on 50,000 samples.
"""

from __future__ import annotations

import pandas as pd

from .artifacts import atomic_path, read_labels
from .checkpoint import load_checkpoint, load_networks
from .clustering import clustering_metrics
from .datasets import load_dataset
from .device import derive_seed, pick_device
from .metrics2d import mixture_metrics
from .samples import class_weights, generate

COLUMNS = ["run", "dataset", "method", "seed", "round", "metric", "value"]


def _protocol(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def evaluate_round(spec: dict, rnd: int, model: str, labels_path: str | None, out: str) -> pd.DataFrame:
    """Compute every metric that applies to this run's dataset at round ``rnd`` and write ``out``."""
    device = pick_device(spec)
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    values: dict[str, float] = {}
    if data.means is not None:
        state = load_checkpoint(model)
        G, _ = load_networks(state, device)
        n = spec["eval_samples"]
        x, _ = generate(G, n, state["arch"]["z_dim"], class_weights(state), derive_seed(spec["seed"], "eval", rnd), device)
        values.update({f"{k}_{_protocol(n)}": v for k, v in mixture_metrics(x, data.means, data.std).items()})
    if labels_path and data.y is not None:
        labels = read_labels(labels_path, n_samples=len(data))
        truth = data.y.numpy()[labels.sample_index]
        values.update({f"labels_{k}": v for k, v in clustering_metrics(labels.labels, truth).items()})
    rows = [
        {"run": spec["name"], "dataset": spec["dataset"], "method": spec["method"], "seed": spec["seed"],
         "round": rnd, "metric": k, "value": v}
        for k, v in values.items()
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    write_csv(frame, out)
    return frame


def write_csv(frame: pd.DataFrame, out: str) -> None:
    """Write a CSV atomically."""
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)


def gather_metrics(inputs: list[str], out: str) -> pd.DataFrame:
    """Concatenate per-round metric files into one tidy table."""
    frames = [pd.read_csv(p) for p in inputs]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values(["dataset", "run", "seed", "round", "metric"], kind="stable")
    write_csv(frame, out)
    return frame
