"""No inference path runs a network in train mode: with D's BatchNorm (the digits DCGAN), the features a
phase writes equal `relabelgan extract`'s of its model.pt, extraction and evaluation leave every
BatchNorm buffer as it was, and `assign ... train` reproduces the round's labels.h5 exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from conftest import relabelgan, tiny_config, write_config

from relabelgan.core.artifacts import read_features, read_labels
from relabelgan.core.config import load_config, run_spec
from relabelgan.data import load_run_dataset
from relabelgan.methods import get_method
from relabelgan.metrics.context import RoundContext
from relabelgan.metrics.evaluation import evaluate_model
from relabelgan.pipeline import run_rounds
from relabelgan.training.checkpoint import load_all_networks, load_checkpoint
from relabelgan.training.features import extract_features

RUN = {"dataset": "digits", "method": "selfcond", "k": 10, "z_dim": 8, "embed_dim": 4, "width": 8,
       "rounds": 1, "iters_per_phase": 8, "batch_size": 16, "eval_samples": 200, "msssim_pairs": 2,
       "msssim_pairs_total": 0, "nn_samples": 20}  # fmt: skip


def _buffers(nets: dict) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n, net in nets.items() for k, v in net.named_buffers()}


def test_batchnorm_statistics_are_read_never_moved(tmp_path):
    cfg = tiny_config()
    cfg["runs"] = {"digits-selfcond": RUN}
    spec = run_spec(load_config(write_config(tmp_path / "cfg", cfg)), "digits-selfcond", 0)
    files = run_rounds(spec, tmp_path / "run")
    model, labels = files.round(1, "model.pt"), files.round(1, "labels.h5")
    state = load_checkpoint(model)
    assert state["arch"]["d_norm"] == "batch", "the test needs a D with BatchNorm"

    nets = load_all_networks(state, get_method("selfcond"))
    before = _buffers(nets)
    extract_features(spec, 1, nets, model, str(tmp_path / "again.h5"), load_run_dataset(spec))
    evaluate_model(RoundContext(spec, 1, nets["G"], state, load_run_dataset(spec), read_labels(labels), torch.device("cpu")),
                   str(tmp_path / "m.csv"))  # fmt: skip
    after = _buffers(nets)
    assert all(torch.equal(before[k], after[k]) for k in before), "an inference path moved a buffer"
    np.testing.assert_array_equal(
        read_features(str(tmp_path / "again.h5"))[0], read_features(files.round(1, "features.h5"))[0]
    )

    out = tmp_path / "assign.csv"
    relabelgan("assign", "--model", model, "--labels", labels, "train", "--out", str(out))
    expected = read_labels(labels)
    np.testing.assert_array_equal(pd.read_csv(out)["label"].to_numpy()[expected.sample_index], expected.labels)
