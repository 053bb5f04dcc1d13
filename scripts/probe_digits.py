"""One digits run per variant, in one process, with the workflow's own functions.

Same sequence as the Snakemake rules (init, round-0 labels, train phases, extract + relabel for
relabelling methods, evaluate_round with the digits evaluator), without the per-job process starts.

usage: python scripts/probe_digits.py NAME BASE_RUN key=yamlvalue ...   (BASE_RUN: a run of config.yaml; outputs under $PROBE_ROOT,
default /tmp/probe_digits; seed $PROBE_SEED, default 0)
Prints one line: NAME, gen/real MS-SSIM (eval-mode and train-mode BN), Frechet, modes, train seconds.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from relabelgan.core.config import resolve_config, run_spec
from relabelgan.evaluate import evaluate_round
from relabelgan.extract import extract_features
from relabelgan.initialise import init_model
from relabelgan.methods import get_method
from relabelgan.metrics.diversity import intra_class_msssim
from relabelgan.metrics.evaluator import train_evaluator
from relabelgan.relabel import relabel
from relabelgan.training.checkpoint import load_checkpoint, load_networks
from relabelgan.training.device import derive_seed
from relabelgan.training.loop import train_phase
from relabelgan.training.samples import class_weights

ROOT = Path(os.environ.get("PROBE_ROOT", "/tmp/probe_digits"))

if os.environ.get("H4_SN"):
    # Hypothesis test: spectral normalisation on every conv of the DCGAN discriminator.
    import relabelgan.networks as nets
    import relabelgan.networks.dcgan as dc

    _orig = dc.dcgan_discriminator_body

    def _sn_body(channels, resolution, width=64):
        body, feat = _orig(channels, resolution, width)
        for i, m in enumerate(body):
            if isinstance(m, torch.nn.Conv2d):
                body[i] = torch.nn.utils.parametrizations.spectral_norm(m)
        return body, feat

    dc.dcgan_discriminator_body = _sn_body
    nets.dcgan_discriminator_body = _sn_body
EVALUATOR = ROOT / "evaluator_digits.pt"


def evaluator() -> str:
    if not EVALUATOR.exists():
        acc = train_evaluator({"kind": "digits"}, "digits", str(EVALUATOR), str(ROOT / "evaluator.csv"), 20, 0.2, 0)
        print(f"evaluator test accuracy {acc:.3f}", flush=True)
    return str(EVALUATOR)


def make_spec(name: str, base: str, overrides: list[str]) -> dict:
    with open(Path(__file__).resolve().parents[1] / "config.yaml") as f:
        cfg = yaml.safe_load(f)
    run = copy.deepcopy(cfg["runs"][base])
    for item in overrides:
        key, value = item.split("=", 1)
        node = run
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(value)
    cfg["runs"] = {name: run}
    cfg["results"] = str(ROOT / "runs")
    return run_spec(resolve_config(cfg), name, int(os.environ.get("PROBE_SEED", 0)))


def train_mode_msssim(spec: dict, model: str, rnd: int) -> float:
    """Intra-class MS-SSIM of samples drawn with G's BatchNorm in train mode (batch statistics)."""
    state = load_checkpoint(model)
    G, _ = load_networks(state, "cpu")
    G.train()
    gen = torch.Generator().manual_seed(derive_seed(spec["seed"], "eval", rnd))
    n = 5000
    y = torch.multinomial(class_weights(state).double(), n, replacement=True, generator=gen)
    z = torch.randn(n, state["arch"]["z_dim"], generator=gen)
    with torch.no_grad():
        x = torch.cat([G(z[i : i + 500], y[i : i + 500]) for i in range(0, n, 500)])
    return intra_class_msssim(
        x, y.numpy(), spec["msssim_pairs"], derive_seed(spec["seed"], "msssim", rnd), spec["msssim_pairs_total"]
    )


def make_labels(spec, rnd, out, features, previous=None):
    """What `relabelgan relabel` does (cli.cmd_relabel)."""
    return relabel(spec, rnd, out, features, previous)


def run(name: str, base: str, overrides: list[str]) -> dict:
    spec = make_spec(name, base, overrides)
    method = get_method(spec["method"])
    d = ROOT / "runs" / f"{name}_s{spec['seed']}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "spec.json").write_text(json.dumps(spec, indent=1, default=str))
    rp = lambda r, f: str(d / f"round_{r:02d}" / f)  # noqa: E731
    (d / "round_00").mkdir(exist_ok=True)
    init_model(spec, rp(0, "model.pt"))
    extract_features(spec, 0, rp(0, "model.pt"), rp(0, "features.h5"))
    make_labels(spec, 0, rp(0, "labels.h5"), rp(0, "features.h5"))
    seconds = 0.0
    labels_at = lambda r: rp(method.labels_round(r), "labels.h5")  # noqa: E731
    for r in range(1, spec["rounds"] + 1):
        (d / f"round_{r:02d}").mkdir(exist_ok=True)
        train_phase(
            spec,
            r,
            rp(r - 1, "model.pt"),
            labels_at(r - 1),
            rp(r, "model.pt"),
            rp(r, "train_log.csv"),
            rp(r, "samples.png"),
        )
        seconds += float(pd.read_csv(rp(r, "train_log.csv"))["seconds"].iloc[-1])
        if method.labels_round(r) == r:
            extract_features(spec, r, rp(r, "model.pt"), rp(r, "features.h5"))
            make_labels(spec, r, rp(r, "labels.h5"), rp(r, "features.h5"), rp(r - 1, "labels.h5"))
    R = spec["rounds"]
    m = evaluate_round(spec, R, rp(R, "model.pt"), labels_at(R), rp(R, "metrics.csv"), evaluator())
    out = {
        "name": name,
        "seed": spec["seed"],
        "gen": m.get("msssim_w3_40px_gen_intra"),
        "real": m.get("msssim_w3_40px_real_intra"),
        "gen_trainBN": train_mode_msssim(spec, rp(R, "model.pt"), R),
        "frechet": m.get("clf_frechet_10k", m.get(next((k for k in m if k.startswith("clf_frechet")), ""), np.nan)),
        "modes": m.get(next((k for k in m if k.startswith("clf_modes")), ""), np.nan),
        "nmi": m.get("labels_nmi", np.nan),
        "train_s": seconds,
        "overrides": " ".join(overrides),
    }
    return out


def one(name: str, base: str, overrides: list[str]) -> None:
    t0 = time.perf_counter()
    out = run(name, base, overrides)
    out["wall_s"] = time.perf_counter() - t0
    line = json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()})
    print(line, flush=True)
    with open(ROOT / "results.jsonl", "a") as f:
        f.write(line + "\n")


def main() -> None:
    torch.set_num_threads(1)
    if sys.argv[1] == "--batch":  # a file of lines 'NAME BASE key=value ...'
        for line in Path(sys.argv[2]).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                one(*line.split()[:2], line.split()[2:])
        return
    one(sys.argv[1], sys.argv[2], sys.argv[3:])


if __name__ == "__main__":
    main()
