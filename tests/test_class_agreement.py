"""Does selfcond's G follow its classes? With round 0's clusters held for one long phase on the 8x8
digits, the share of G's samples the evaluator reads as their class's dominant digit (class agreement)
reaches the purity of those clusters less 0.05: G draws each cluster's members, it does not ignore
its class. Real training through `relabelgan pipeline` (rules' order and files), on CPU.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import relabelgan, write_config

# The digits runs of config.yaml, narrower and shorter: one phase on round 0's clusters.
AGREEMENT_RUN = {
    "dataset": "digits",
    "method": "selfcond",
    "k": 10,
    "rounds": 1,
    "iters_per_phase": 600,
    "z_dim": 32,
    "embed_dim": 16,
    "width": 16,
    "batch_size": 64,
    "lr_g": 0.001,
    "lr_d": 0.001,
    "betas": [0.5, 0.999],
    "lr_decay": "linear",
    "eval_samples": 2000,
    "msssim_pairs": 1,
    "nn_samples": 100,
    "kmeans": {"n_init": 10, "subset": 10000},
    "device": "cpu",
}


def _metric(path, name: str) -> float:
    rows = pd.read_csv(path)
    return float(rows.loc[rows["metric"] == name, "value"].iloc[0])


@pytest.mark.e2e
def test_selfcond_generator_follows_round_0_clusters_held_for_one_long_phase(tmp_path):
    config = {"seeds": [0], "datasets": {"digits": {"kind": "digits"}}, "runs": {"digits-selfcond": AGREEMENT_RUN}}
    path = write_config(tmp_path, config)
    results = tmp_path / "results"
    relabelgan("pipeline", "--config", str(path), "--run", "digits-selfcond", "--seed", "0", "--results", str(results))
    seed = results / "digits-selfcond" / "seed0"
    purity = _metric(seed / "round_00" / "label_metrics.csv", "labels_purity")
    agreement = _metric(seed / "round_01" / "metrics.csv", "clf_class_agreement_2k")
    assert purity < 0.95, "the clusters should mix digits, or the test shows nothing a supervised run would not"
    assert agreement >= purity - 0.05, f"class agreement {agreement:.3f} against the clusters' purity {purity:.3f}"
