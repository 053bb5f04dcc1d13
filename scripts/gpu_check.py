#!/usr/bin/env python
"""The GPU check (docs/performance.md, "GPU check"); run it through scripts/gpu_check.sh.

Steps, each timed and each writing under the output folder (``--out``, default $OUT, else
./gpu_check_out):

  machine     torch, CUDA, the GPU, bf16 support, cuML, the accel plan for CIFAR-10  -> machine.txt
  data        50,000 random images in CIFAR-10's binary layout (in a temporary folder)
  cuda_tests  pytest -m cuda (the tests that skip without a GPU)                     -> cuda_tests.log
  selfcond    a CIFAR-shaped selfcond run (random bytes in CIFAR-10's binary layout, 50,000
              images), two phases under bf16 autocast + channels-last; its two extractions
              are extractions of 50,000 samples (images/s in the summary)             -> selfcond/
  splitting   the class-splitting GAN (WGAN-GP + AC) from one class: phase 1, extract,
              split, phase 2 on the grown networks; every logged loss, the gradient
              penalty (d_gp) included, must be finite                                -> splitting/
  gp_bf16     the WGAN-GP penalty and critic gradients of the trained splitting model on
              one batch under bf16 autocast + channels-last, beside fp32             -> gp_bf16.txt
  smnist_paper  configs/stacked-mnist-paper.yaml's selfcond run (the paper's DCGAN, batch, Adam, k = 100)
              on the embedded MNIST digits, 2 phases of 300 steps: its step rate and the
              whole protocol's GPU-hours from it                                     -> smnist_paper/
  benchmark   scripts/benchmark.py --gpu (bf16 vs fp32 it/s, cuML vs scikit-learn)   -> benchmark_gpu.txt

summary.txt holds one line per step. Exit status: 0 every step passed; 1 a step failed (a line
``GPU CHECK FAILED: ...`` says which and why; a non-finite bf16 gradient penalty is one); 2 no
CUDA GPU (one line, nothing written). ``--rehearse-on-cpu`` runs the same steps on the CPU at
tiny sizes, to check this script itself where there is no GPU (its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
N_IMAGES = 50_000  # CIFAR-10's training set
IMAGE_SHAPE = (3, 32, 32)


class CheckFailed(Exception):
    """A step ran but its result is wrong (the message says what)."""


@dataclasses.dataclass
class Setting:
    """Sizes and device of one check: the real one on a GPU, or the CPU rehearsal."""

    device: str
    n_images: int
    iters: int
    width: int  # base channel width of the DCGANs
    batch_size: int
    rehearsal: bool
    smnist_iters: int  # steps per phase of the Stacked-MNIST paper-protocol step


def refuse_without_gpu(rehearsal: bool) -> None:
    """Exit 2 with one line unless torch imports and sees a CUDA GPU (or this is the CPU rehearsal)."""
    try:
        import torch
    except ImportError as e:
        print(f"gpu_check: cannot import torch ({e}); run with the project's Python (PYTHON=...)", file=sys.stderr)
        sys.exit(2)
    if not rehearsal and not torch.cuda.is_available():
        print(
            f"gpu_check: no CUDA GPU visible to torch {torch.__version__}; run this on a GPU machine "
            "(--rehearse-on-cpu checks the script itself on the CPU)",
            file=sys.stderr,
        )
        sys.exit(2)


class Tee:
    """Write to the console and to a log file."""

    def __init__(self, console, log) -> None:
        self.console, self.log = console, log

    def write(self, text: str) -> int:
        self.log.write(text)
        return self.console.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.console.flush()

    def isatty(self) -> bool:
        return False  # no progress bars in the log


def cli(*args: object) -> None:
    """Run one `relabelgan` command in this process, as a workflow job would run it."""
    from relabelgan.cli import main

    status = main([str(a) for a in args])
    if status != 0:
        raise CheckFailed(f"relabelgan {args[0]} exited with status {status} (its error is printed above)")


# ----------------------------------------------------------------------------- steps


def machine(setting: Setting, out: Path) -> str:
    import torch

    from relabelgan.core.kmeans import cuml_available
    from relabelgan.training.accel import accel_plan

    plan = accel_plan(setting.device, IMAGE_SHAPE, N_IMAGES)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    info = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu": gpu,
        "bf16_supported": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "cuml": cuml_available(),
        "python": sys.version.split()[0],
        "plan_cifar10": {
            "autocast": str(plan.autocast_dtype),
            "channels_last": plan.channels_last,
            "data_on_device": plan.data_on_device,
            "pin_memory": plan.pin_memory,
        },
    }
    (out / "machine.txt").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    if not setting.rehearsal and not (plan.autocast_dtype == torch.bfloat16 and plan.channels_last):
        raise CheckFailed(
            f"the CIFAR-10 plan on {gpu} is not bf16 + channels-last ({info['plan_cifar10']}): "
            "the runs below would not test bf16"
        )
    return f"{gpu}, torch {torch.__version__}, cuML {'yes' if info['cuml'] else 'no'}"


def cuda_tests(setting: Setting, out: Path) -> str:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda", str(REPO / "tests")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
    (out / "cuda_tests.log").write_text(proc.stdout + proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else proc.stderr.strip()[-300:]
    if proc.returncode != 0:
        raise CheckFailed(f"pytest -m cuda exited {proc.returncode}: {last} (cuda_tests.log)")
    if "skipped" in last and not setting.rehearsal:
        raise CheckFailed(f"CUDA tests were skipped on a GPU: {last} (cuda_tests.log)")
    return last


def check_config(data_root: Path, setting: Setting) -> dict:
    """Both runs: SN-GAN-sized DCGAN on 32x32x3, precision auto (bf16 on the GPU), two short phases."""
    defaults = {
        "device": setting.device,
        "precision": "auto",
        "rounds": 2,
        "iters_per_phase": setting.iters,
        "log_every": max(1, setting.iters // 10),
        "snapshot_every": 10**6,
        "batch_size": setting.batch_size,
        "z_dim": 128,
        "embed_dim": 256,
        "width": setting.width,
        "kmeans": {"n_init": 1, "subset": min(5000, setting.n_images)},
    }
    if setting.rehearsal:
        # The CIFAR protocol's 50,000 samples and 1,000 MS-SSIM pairs took most of the rehearsal.
        defaults.update(eval_samples=1000, msssim_pairs=1, msssim_pairs_total=0, nn_samples=100)
    splitting = {
        "dataset": "cifar",
        "method": "splitting",
        "schedule": "unsupervised",
        "split_rounds": [1],
        "split_threshold": 100,
        "d_steps": 5,
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": [0.0, 0.9],
    }
    return {
        "seeds": [0],
        "datasets": {"cifar": {"kind": "cifar10", "path": str(data_root)}},
        "defaults": defaults,
        "runs": {"selfcond": {"dataset": "cifar", "method": "selfcond", "k": 10}, "splitting": splitting},
    }


def data(setting: Setting, work: Path) -> str:
    """Random bytes in CIFAR-10's binary layout (the real loader reads them) and the runs' config."""
    import yaml
    from benchmark import make_cifar_like  # beside this script

    dataset = make_cifar_like(work / "cifar", setting.n_images // 5)
    (work / "config.yaml").write_text(yaml.safe_dump(check_config(Path(dataset["path"]), setting)))
    return f"{setting.n_images} images of 3x32x32 in 5 batch files"


def run_rounds(run: str, work: Path, out: Path, setting: Setting, required: tuple[str, ...]) -> list[str]:
    """The run's rounds as the workflow walks them (relabelgan.pipeline), each phase's log checked at
    once; after each phase its features are re-extracted through `relabelgan extract` to time the
    whole command. Returns the extraction figures."""
    from relabelgan.core.config import read_spec
    from relabelgan.pipeline import run_rounds as pipeline_rounds

    spec_path, work = work / run / "run.yaml", work / run
    cli("resolve", "--config", work.parent / "config.yaml", "--run", run, "--seed", 0, "--out", spec_path)
    spec = read_spec(spec_path)
    figures: list[str] = []

    def after_phase(r: int, files) -> None:
        d = Path(files.round(r, "model.pt")).parent
        keep_small_outputs(d, out / f"round_{r:02d}")
        check_phase(d, setting.device, required)
        t0 = time.perf_counter()
        cli("extract", "--spec", spec_path, "--round", r, "--model", d / "model.pt", "--out", d / "extract.h5")
        seconds = time.perf_counter() - t0
        figures.append(
            f"extract round {r} (whole command: load, forward, write): {setting.n_images} images "
            f"in {seconds:.1f} s = {setting.n_images / seconds:,.0f} images/s"
        )
        print(figures[-1], flush=True)

    pipeline_rounds(spec, work, after_phase=after_phase)
    (out / "extraction.txt").write_text("\n".join(figures) + "\n")
    return figures


def keep_small_outputs(round_dir: Path, dest: Path) -> None:
    """Copy a phase's log and sample grid to the output folder (models and features stay in the work dir)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("train_log.csv", "samples.png"):
        shutil.copy2(round_dir / name, dest / name)


def check_phase(round_dir: Path, device: str, required: tuple[str, ...]) -> None:
    """The phase ran on ``device``, its log has the ``required`` columns, and every logged loss and loss
    statistic (d_*, g_*, c_*) is finite: checked before anything reads the model, so a non-finite
    loss is named as such rather than as a failure of the step after it."""
    import numpy as np
    import pandas as pd

    from relabelgan.training.checkpoint import load_checkpoint

    log_path = round_dir / "train_log.csv"
    log = pd.read_csv(log_path)
    missing = [c for c in required if c not in log.columns]
    if missing:
        raise CheckFailed(f"{log_path} has no column {missing}")
    values = log[[c for c in log.columns if c.split("_")[0] in ("d", "g", "c")]].astype(float)
    finite = np.isfinite(values.to_numpy())
    bad = values.columns[~finite.all(axis=0)].tolist()
    if bad:
        rows = log.loc[~finite.all(axis=1), "iteration"].tolist()
        what = "the WGAN-GP gradient penalty (d_gp)" if "d_gp" in bad else f"the losses {bad}"
        raise CheckFailed(f"bf16 autocast makes {what} non-finite at iterations {rows[:5]} ({log_path})")
    ran_on = str(load_checkpoint(round_dir / "model.pt")["provenance"]["device"])
    if not ran_on.startswith(device):
        raise CheckFailed(f"{round_dir}: the phase ran on {ran_on}, not {device}")


def check_features(path: Path, n_images: int) -> None:
    from relabelgan.core.artifacts import read_features

    feats, _, _ = read_features(path)
    if feats.shape[0] != n_images or not all(map(math.isfinite, (float(feats.min()), float(feats.max())))):
        raise CheckFailed(
            f"{path}: {feats.shape} features, min {feats.min()}, max {feats.max()}: "
            f"expected {n_images} rows, all finite"
        )


def selfcond(setting: Setting, work: Path, out: Path) -> str:
    figures = run_rounds("selfcond", work, out / "selfcond", setting, ("d_loss", "g_loss"))
    check_features(work / "selfcond" / "round_01" / "features.h5", setting.n_images)
    return f"2 phases on {setting.device}, every logged loss finite; " + "; ".join(figures)


def splitting(setting: Setting, work: Path, out: Path) -> str:
    from relabelgan.core.artifacts import read_labels

    run_rounds("splitting", work, out / "splitting", setting, ("d_loss", "g_loss", "d_gp"))
    k = read_labels(work / "splitting" / "round_01" / "labels.h5").k
    if k != 2:
        raise CheckFailed(
            f"round 1 of the splitting run has {k} classes; one class of {setting.n_images} "
            "samples (above split_threshold 100) should have split into 2"
        )
    return f"2 phases on {setting.device}, every logged loss and d_gp finite; 1 -> 2 classes"


def gp_bf16(setting: Setting, work: Path, out: Path) -> str:
    """The penalty and critic gradients on one batch, bf16 + channels-last beside fp32, same interpolates."""
    import torch

    from relabelgan.core.config import read_spec
    from relabelgan.training.accel import accel_plan, autocast, prepare_modules, to_layout
    from relabelgan.training.checkpoint import load_checkpoint, load_networks
    from relabelgan.training.losses import make_loss

    spec = read_spec(work / "splitting" / "run.yaml")
    model = next(p for p in (work / "splitting" / f"round_{r:02d}" / "model.pt" for r in (2, 1, 0)) if p.exists())
    state = load_checkpoint(model)
    G, D = load_networks(state, setting.device)
    plan = accel_plan(setting.device, IMAGE_SHAPE, setting.n_images)
    if setting.rehearsal:  # the CPU plan is fp32: force the GPU's choices to exercise this code
        plan = dataclasses.replace(plan, autocast_dtype=torch.bfloat16, channels_last=True)
    prepare_modules(plan, G, D)
    loss = make_loss("wgan_gp", spec)
    gen = torch.Generator(setting.device).manual_seed(0)
    n, k = spec["batch_size"], state["arch"]["n_classes"]
    real = to_layout(torch.rand((n, *IMAGE_SHAPE), device=setting.device, generator=gen) * 2 - 1, plan)
    y = torch.randint(k, (n,), device=setting.device, generator=gen)
    z = torch.randn(n, spec["z_dim"], device=setting.device, generator=gen)
    results = {}
    for name, p in (("fp32", dataclasses.replace(plan, autocast_dtype=None)), ("bf16", plan)):
        torch.manual_seed(0)  # the same interpolation weights for both
        D.zero_grad(set_to_none=True)
        with autocast(p):
            fake = G(z, y).detach()
            gp = loss.gradient_penalty(D, real, fake, y)
            d_loss, _ = loss.d_loss(G, D, real, y, z, y)
        d_loss.backward()
        grads = torch.cat([q.grad.float().flatten() for q in D.parameters() if q.grad is not None])
        results[name] = {
            "gp": gp.item(),
            "d_loss": d_loss.item(),
            "grads_finite": bool(torch.isfinite(grads).all()),
            "grad_norm": grads.norm().item(),
        }
    results["model"] = str(model.relative_to(work))
    (out / "gp_bf16.txt").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    bf16 = results["bf16"]
    if not (math.isfinite(bf16["gp"]) and math.isfinite(bf16["d_loss"]) and bf16["grads_finite"]):
        raise CheckFailed(
            f"bf16 autocast makes the WGAN-GP gradient penalty non-finite: gp {bf16['gp']}, "
            f"critic loss {bf16['d_loss']}, gradients finite: {bf16['grads_finite']} (gp_bf16.txt)"
        )
    rel = abs(bf16["gp"] - results["fp32"]["gp"]) / max(abs(results["fp32"]["gp"]), 1e-12)
    return f"gp bf16 {bf16['gp']:.4g} vs fp32 {results['fp32']['gp']:.4g} (relative difference {rel:.2g}), finite"


# configs/stacked-mnist-paper.yaml's full protocol: 3 phases of its iters_per_phase, six runs, five seeds.
SMNIST_PAPER = REPO / "configs" / "stacked-mnist-paper.yaml"


def smnist_config(setting: Setting, work: Path) -> dict:
    """configs/stacked-mnist-paper.yaml's selfcond run (the paper's networks, batch, Adam and k = 100) for a
    few hundred steps in two phases (one re-clustering), stacked from the embedded MNIST digits: a lent
    machine has no /data/mnist. The CPU rehearsal shrinks the data, the width and the evaluator."""
    import yaml

    config = yaml.safe_load(SMNIST_PAPER.read_text())
    config["results"] = str(work / "smnist")
    config["seeds"] = [0]
    config["runs"] = {"smnist-selfcond": config["runs"]["smnist-selfcond"]}
    dataset = config["datasets"]["smnist"]
    dataset.pop("path")
    config["defaults"].update(
        device=setting.device,
        rounds=2,
        iters_per_phase=setting.smnist_iters,
        log_every=max(1, setting.smnist_iters // 30),
        snapshot_every=10**6,
    )
    if setting.rehearsal:
        dataset["n"] = setting.n_images
        config["defaults"].update(
            width=setting.width,
            eval_samples=1000,
            kmeans={"n_init": 1, "subset": 1000},
            msssim_pairs=1,  # 100 classes x the default 100 pairs of 64 px MS-SSIM would dominate the rehearsal
            msssim_pairs_total=0,
            nn_samples=100,
        )
        config["evaluator"] = {"digit_cnn": {"epochs": 1}, "triples": 1000}
    return config


def smnist_paper(setting: Setting, work: Path, out: Path) -> str:
    """The paper protocol's step rate here, and the whole protocol's GPU-hours from it."""
    import pandas as pd
    import yaml

    config_path = work / "smnist.yaml"
    config = smnist_config(setting, work)
    config_path.write_text(yaml.safe_dump(config))
    results = work / "smnist-results"
    cli("pipeline", "--config", config_path, "--run", "smnist-selfcond", "--seed", 0, "--results", results)
    seed_dir = results / "smnist-selfcond" / "seed0"
    for r in (1, 2):
        keep_small_outputs(seed_dir / f"round_{r:02d}", out / "smnist_paper" / f"round_{r:02d}")
        check_phase(seed_dir / f"round_{r:02d}", setting.device, ("d_loss", "g_loss"))
    log = pd.read_csv(seed_dir / "round_02" / "train_log.csv")
    steps_per_s = (log["iteration"].iloc[-1] - log["iteration"].iloc[0]) / (
        log["seconds"].iloc[-1] - log["seconds"].iloc[0]
    )
    paper = yaml.safe_load(SMNIST_PAPER.read_text())
    steps = paper["defaults"]["rounds"] * paper["defaults"]["iters_per_phase"]
    runs = len(paper["runs"]) * len(paper["seeds"])
    hours = steps / steps_per_s / 3600
    return (
        f"{setting.smnist_iters} steps x 2 phases of the paper's selfcond run on {setting.device}: "
        f"{steps_per_s:.1f} steps/s in phase 2, so its {steps:,} training steps take {hours:.2f} h a run, "
        f"{hours * runs:.1f} GPU-hours for its {runs} runs (training only; k-means and evaluation not counted)"
    )


def benchmark(setting: Setting, out: Path) -> str:
    cmd = [sys.executable, str(REPO / "scripts" / "benchmark.py"), "--gpu"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
    (out / "benchmark_gpu.txt").write_text(proc.stdout + proc.stderr)
    if setting.rehearsal and proc.returncode == 2:
        return f"refused without a GPU, as it should: {proc.stderr.strip()}"
    if proc.returncode != 0:
        raise CheckFailed(
            f"benchmark.py --gpu exited {proc.returncode}: {proc.stderr.strip()[-300:]} (benchmark_gpu.txt)"
        )
    return "see benchmark_gpu.txt"


# ----------------------------------------------------------------------------- driver


def run_step(name: str, fn: Callable[[], str], out: Path) -> tuple[bool, str]:
    """Run one step; a failure is reported in one loud line (traceback in NAME.error.txt) and the check goes on."""
    print(f"\n== {name} ==", flush=True)
    t0 = time.perf_counter()
    try:
        note, passed = fn(), True
    except CheckFailed as e:
        note, passed = str(e), False
    except Exception as e:  # noqa: BLE001 - every other step should still run
        (out / f"{name}.error.txt").write_text(traceback.format_exc())
        note, passed = f"{type(e).__name__}: {e} ({name}.error.txt)", False
    line = f"{name}: {'PASS' if passed else 'FAIL'} in {time.perf_counter() - t0:.1f} s: {note}"
    if not passed:
        print(f"GPU CHECK FAILED: {line}", file=sys.stderr, flush=True)
    print(line, flush=True)
    return passed, line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu_check_out", help="output folder")
    parser.add_argument("--rehearse-on-cpu", action="store_true", help="tiny sizes on the CPU: checks this script")
    args = parser.parse_args(argv)
    refuse_without_gpu(args.rehearse_on_cpu)
    setting = (
        Setting("cpu", 1000, 2, 8, 16, True, 4)
        if args.rehearse_on_cpu
        else Setting("cuda", N_IMAGES, 50, 64, 64, False, 300)
    )
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    console_log = open(out / "console.log", "w")  # noqa: SIM115  # the whole run's tee target, closed at exit
    sys.stdout, sys.stderr = Tee(sys.stdout, console_log), Tee(sys.stderr, console_log)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relabelgan-gpu-check-") as tmp:
        work = Path(tmp)
        steps = {
            "machine": lambda: machine(setting, out),
            "data": lambda: data(setting, work),
            "cuda_tests": lambda: cuda_tests(setting, out),
            "selfcond": lambda: selfcond(setting, work, out),
            "splitting": lambda: splitting(setting, work, out),
            "gp_bf16": lambda: gp_bf16(setting, work, out),
            "smnist_paper": lambda: smnist_paper(setting, work, out),
            "benchmark": lambda: benchmark(setting, out),
        }
        results = [run_step(name, fn, out) for name, fn in steps.items()]
    failed = [line.split(":")[0] for passed, line in results if not passed]
    verdict = (
        f"gpu_check: {'FAILED ' + ', '.join(failed) if failed else 'all steps passed'} "
        f"in {time.perf_counter() - t0:.0f} s{' (CPU rehearsal: numbers mean nothing)' if setting.rehearsal else ''}"
    )
    (out / "summary.txt").write_text("\n".join(line for _, line in results) + f"\n{verdict}\n")
    print(f"\n{verdict}; results in {out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
