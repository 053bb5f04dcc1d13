#!/usr/bin/env python
"""Measure relabelgan's speed on this machine, in one run (see docs/performance.md).

Sections, each printed under a ``== name ==`` header:
  machine     CPU, cores, torch threads, GPU, cuML
  training    iterations/s of `relabelgan train`'s loop vs a plain PyTorch loop of the same model
  extraction  feature extraction images/s, and host-memory growth at N and 4N (should stay flat)
  kmeans      time and inertia per available backend, N x D in {(10000,128),(50000,512)}, k in {10,100}
  hungarian   cluster rematch time (overlap matrix + linear_sum_assignment)
  hdf5        features.h5 write/read MB/s
  snakemake   per-job overhead of a tiny real snakemake run, and a relabelgan process start
  overhead    extract + cluster + rematch + surgery + scheduling, as a % of a phase at the paper schedules

`--quick` shrinks every size so the whole script runs in well under a minute (a smoke test;
its numbers mean nothing). `--gpu` runs only `machine` and this section, on a CUDA GPU (without
one it refuses, status 2):
  gpu         iterations/s under bf16 autocast + channels-last vs fp32 (CIFAR-shaped DCGAN: the
              selfcond loss and the splitting GAN's WGAN-GP), extraction images/s likewise, and
              GPU (cuML) vs CPU (scikit-learn) k-means when cuML imports
Nothing here asserts a timing.

`--workflow RESULTS` prints only where a finished workflow run's job time went: job-seconds per
rule from Snakemake's benchmark files, the share outside train_phase and the relabel job median
(scripts/workflow_benchmarks.py, no torch).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from workflow_benchmarks import report as workflow_report  # noqa: E402  (beside this script)

from relabelgan.core.artifacts import read_features, write_features  # noqa: E402
from relabelgan.core.config import resolve_config, run_spec  # noqa: E402
from relabelgan.core.kmeans import assign, cuml_available, fit_kmeans, match_clusters  # noqa: E402
from relabelgan.data import load_run_dataset  # noqa: E402
from relabelgan.pipeline import run_rounds  # noqa: E402
from relabelgan.training.accel import accel_plan, prepare_modules  # noqa: E402
from relabelgan.training.checkpoint import load_checkpoint, load_networks, save_checkpoint  # noqa: E402
from relabelgan.training.device import pick_device  # noqa: E402
from relabelgan.training.features import feature_blocks  # noqa: E402

BIN = Path(sys.executable).parent


def header(name: str) -> None:
    print(f"\n== {name} ==", flush=True)


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc)."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024


# ----------------------------------------------------------------------------- machine


def machine() -> dict:
    header("machine")
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1) if found else cpu
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "cuml": cuml_available(),
        "python": platform.python_version(),
    }
    for key, value in info.items():
        print(f"{key}: {value}")
    return info


# ----------------------------------------------------------------------------- training


@dataclass
class Case:
    """One model on one dataset, at the batch size its paper schedule uses."""

    name: str
    dataset: dict
    run: dict
    iters: int


def make_cifar_like(root: Path, n_per_batch: int) -> dict:
    """Random bytes in CIFAR-10's binary layout, so the real cifar10 loader and a 32x32x3 DCGAN run."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        raw = rng.integers(0, 256, size=(n_per_batch, 3073), dtype=np.uint8)
        raw[:, 0] %= 10
        raw.tofile(root / f"data_batch_{i}.bin")
    return {"kind": "cifar10", "path": str(root)}


def cases(quick: bool, tmp: Path) -> list[Case]:
    out = [
        Case(
            "ring / mlp (PacGAN), batch 100",
            {"kind": "ring", "n": 2000 if quick else 10000},
            {"method": "random", "k": 50, "batch_size": 100, "z_dim": 2},
            20 if quick else 300,
        ),
        Case(
            "digits / dcgan w32 8x8, batch 64",
            {"kind": "digits"},
            {"method": "random", "k": 10, "batch_size": 64, "z_dim": 32, "embed_dim": 16, "width": 32},
            20 if quick else 100,
        ),
    ]
    if not quick:
        out.append(
            Case(
                "cifar10-shaped / dcgan w64 32x32x3 (SN-GAN), batch 64",
                make_cifar_like(tmp / "cifar", 2000),
                {
                    "method": "random",
                    "k": 100,
                    "batch_size": 64,
                    "z_dim": 128,
                    "embed_dim": 256,
                    "width": 64,
                    "betas": [0.0, 0.99],
                    "lr_g": 1e-4,
                    "lr_d": 1e-4,
                },
                12,
            )
        )
    return out


def case_spec(case: Case, log_every: int) -> dict:
    config = resolve_config(
        {
            "datasets": {"data": case.dataset},
            "defaults": {
                "device": "auto",
                "iters_per_phase": case.iters,
                "log_every": log_every,
                "snapshot_every": 10**9,
                "rounds": 1,
            },
            "runs": {"bench": {"dataset": "data", **case.run}},
        },
        source="benchmark",
    )
    return run_spec(config, "bench", 0)


def loop_its(log_csv: Path) -> float:
    """Iterations/s of the real loop from its own log (first to last log row: excludes set-up)."""
    import pandas as pd

    log = pd.read_csv(log_csv)
    first, last = log.iloc[0], log.iloc[-1]
    return float((last["iteration"] - first["iteration"]) / (last["seconds"] - first["seconds"]))


def plain_loop_its(state: dict, data_x: torch.Tensor, labels: torch.Tensor, spec: dict, iters: int) -> float:
    """A plain PyTorch GAN loop on the same networks: resident data, Adam, non-saturating loss."""
    device = pick_device(spec)
    G, D = load_networks(state, device)
    plan = accel_plan(device, tuple(data_x.shape[1:]), len(data_x))
    prepare_modules(plan, G, D)
    opt_g = torch.optim.Adam(G.parameters(), lr=spec["lr_g"], betas=tuple(spec["betas"]))
    opt_d = torch.optim.Adam(D.parameters(), lr=spec["lr_d"], betas=tuple(spec["betas"]))
    x, y = data_x.to(device), labels.to(device)
    bs, z_dim = spec["batch_size"], spec["z_dim"]

    def step() -> None:
        i = torch.randint(len(x), (bs,), device=device)
        y_fake = y[torch.randint(len(x), (bs,), device=device)]
        with torch.no_grad():
            fake = G(torch.randn(bs, z_dim, device=device), y_fake)
        d_loss = F.softplus(-D(x[i], y[i]).adv).mean() + F.softplus(D(fake, y_fake).adv).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        y_fake = y[torch.randint(len(x), (bs,), device=device)]
        g_loss = F.softplus(-D(G(torch.randn(bs, z_dim, device=device), y_fake), y_fake).adv).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    G.train()
    D.train()
    warm = max(2, iters // 10)
    for _ in range(warm):
        step()
    t0 = time.perf_counter()
    for _ in range(iters - warm):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (iters - warm) / (time.perf_counter() - t0)


def first_phase_its(spec: dict, work: Path) -> float:
    """Round 0 then phase 1 as the workflow makes them in ``work`` (relabelgan.pipeline); the phase loop's iterations/s."""
    run_rounds(spec, work, phases=1)
    return loop_its(work / "round_01" / "train_log.csv")


def training(quick: bool, tmp: Path) -> dict:
    header("training")
    results = {}
    for case in cases(quick, tmp):
        log_every = max(1, case.iters // 10)
        spec = case_spec(case, log_every)
        work = tmp / re.sub(r"\W+", "_", case.name)
        work.mkdir(parents=True, exist_ok=True)
        ours = first_phase_its(spec, work)
        data = load_run_dataset(spec)
        from relabelgan.core.artifacts import read_labels

        labels = torch.from_numpy(read_labels(work / "round_00" / "labels.h5").labels)
        plain = plain_loop_its(load_checkpoint(work / "round_01" / "model.pt"), data.x, labels, spec, case.iters)
        print(
            f"{case.name}: relabelgan {ours:.2f} it/s, plain PyTorch loop {plain:.2f} it/s "
            f"(ratio {ours / plain:.2f}; {case.iters} iterations each)"
        )
        results[case.name] = {"ours": ours, "plain": plain, "work": work, "spec": spec}
    return results


# ----------------------------------------------------------------------------- extraction


def extraction(quick: bool, trained: dict) -> dict:
    header("extraction")
    results = {}
    for name, r in trained.items():
        spec = r["spec"]
        device = pick_device(spec)
        _, D = load_networks(load_checkpoint(r["work"] / "round_01" / "model.pt"), device)
        data = load_run_dataset(spec)
        plan = accel_plan(device, tuple(data.x.shape[1:]), len(data))
        prepare_modules(plan, D)
        n = min(len(data), 512 if quick else (2000 if data.is_image else 10000))
        x = data.x[:n]
        seconds, _ = timed(lambda: sum(len(b) for b in feature_blocks(D, x, spec["extract_batch"], device, plan)), 2)
        dim = next(feature_blocks(D, x[:1], 1, device, plan)).shape[1]
        growth = []
        for reps in (1, 4):  # host memory while streaming N and 4N rows: flat if nothing accumulates
            xs = x[: max(1, n // 4)].repeat(reps, *([1] * (x.dim() - 1)))
            base, peak = rss_mb(), 0.0
            for _ in feature_blocks(D, xs, min(256, spec["extract_batch"]), device, plan):
                peak = max(peak, rss_mb() - base)
            growth.append(peak)
        print(
            f"{name}: {n / seconds:,.0f} images/s (D features: {dim}); host memory growth while streaming "
            f"{max(1, n // 4)} rows: {growth[0]:.1f} MB, {4 * max(1, n // 4)} rows: {growth[1]:.1f} MB"
        )
        results[name] = {"images_per_s": n / seconds, "dim": dim}
    return results


# ----------------------------------------------------------------------------- kmeans


def blobs(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian clusters (feature-like: no trivially separable blobs), and the means of
    their members, which stand in for a warm start from the previous round's memberships."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=4.0, center_box=(-5, 5), random_state=seed)
    x = x.astype(np.float32)
    return x, np.stack([x[y == c].mean(0) for c in range(k)])


def kmeans(quick: bool) -> dict:
    header("kmeans")
    sizes = [(2000, 32), (5000, 64)] if quick else [(10000, 128), (50000, 512)]
    ks = (10, 20) if quick else (10, 100)
    backends = ["sklearn"] + (["cuml"] if cuml_available() else [])
    print(
        "k-means++ start, n_init 1 and 10 (the selfcond paper's best of ten), max_iter 300; "
        "warm = one run from the means of the generating clusters' members (as later relabel rounds start)"
    )
    results = {}
    fit_kmeans(*blobs(500, 8, 5)[:1], 5, seed=0, n_init=1, backend="sklearn")  # warm up thread pools
    for n, d in sizes:
        for k in ks:
            x, warm_start = blobs(n, d, k)
            for backend in backends:
                for n_init in (1, 10):
                    if n_init == 10 and (n, d, k) == sizes[-1] + (ks[-1],) and not quick:
                        continue  # the largest best-of-ten run would dominate the script: n_init 1 time x 10
                    t, res = timed(lambda: fit_kmeans(x, k, seed=0, n_init=n_init, backend=backend))
                    print(
                        f"N={n} D={d} k={k} {backend} k-means++ n_init={n_init}: {t:.2f} s, inertia {res.inertia:.6g}"
                    )
                    results[(n, d, k, backend, n_init)] = t
                t, res = timed(lambda: fit_kmeans(x, k, seed=0, init=warm_start, backend=backend))
                print(f"N={n} D={d} k={k} {backend} warm start: {t:.2f} s, inertia {res.inertia:.6g}")
    print("torch GPU k-means: not implemented (cuML is the GPU backend)")
    return results


# ----------------------------------------------------------------------------- hungarian


def hungarian(quick: bool) -> dict:
    header("hungarian")
    n = 5000 if quick else 50000
    rng = np.random.default_rng(0)
    results = {}
    for k in (10, 100, 1000):
        old = rng.integers(0, k, n)
        new = np.where(rng.random(n) < 0.8, rng.permutation(k)[old], rng.integers(0, k, n))  # 80% kept, relabelled
        t, _ = timed(lambda: match_clusters(old, new, k), 3)
        print(f"N={n} k={k}: {t * 1000:.2f} ms")
        results[k] = t
    return results


# ----------------------------------------------------------------------------- hdf5


def hdf5(quick: bool, tmp: Path) -> dict:
    header("hdf5")
    n, d = (5000, 128) if quick else (50000, 512)
    x = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
    path = tmp / "features.h5"
    mb = x.nbytes / 2**20
    t_write, _ = timed(
        lambda: write_features(path, iter(np.array_split(x, max(1, n // 2048))), n, d, np.arange(n), {}), 2
    )
    t_read, _ = timed(lambda: read_features(path), 2)
    print(
        f"features.h5 {n} x {d} float32 ({mb:.0f} MB): write {mb / t_write:.0f} MB/s (incl. fsync), "
        f"read {mb / t_read:.0f} MB/s (page cache warm)"
    )
    return {"write_mb_s": mb / t_write, "read_mb_s": mb / t_read}


# ----------------------------------------------------------------------------- snakemake


SNAKEFILE = """
rule all:
    input: expand("out/{i}.txt", i=range(JOBS))

rule one:
    output: "out/{i}.txt"
    shell: "echo {wildcards.i} > {output}"
"""


def snakemake_overhead(quick: bool, tmp: Path) -> dict:
    header("snakemake")
    jobs = 8 if quick else 40
    work = tmp / "smk"
    work.mkdir()
    (work / "Snakefile").write_text(f"JOBS = {jobs}\n" + SNAKEFILE)
    # A local run, as `make run` starts it (Makefile, LOCAL_RUN): no SLURM client config for the plugin's probe.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "SLURM_CONF": "/dev/null"}
    cmd = [str(BIN / "snakemake"), "--cores", "1", "--quiet", "all"]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)
    total = time.perf_counter() - t0
    shutil.rmtree(work / "out")
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "snakemake"), "--cores", "1", "--quiet", "-n", "all"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    dry = time.perf_counter() - t0
    per_job = (total - dry) / jobs
    t_start, _ = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", "import relabelgan.training.loop, relabelgan.extract, relabelgan.relabel"],
            env={**env, "PYTHONPATH": str(REPO / "src")},
            check=True,
        ),
        2,
    )
    print(
        f"{jobs} trivial jobs, --cores 1: {total:.2f} s in all, start-up + DAG {dry:.2f} s, "
        f"{1 / per_job:.1f} jobs/s ({per_job:.3f} s scheduling per job)"
    )
    print(f"relabelgan process start (python + torch + package imports): {t_start:.2f} s")
    return {"per_job": per_job, "process_start": t_start}


# ----------------------------------------------------------------------------- overhead


@dataclass
class Schedule:
    """A paper's relabel schedule, with the measured training case it runs on."""

    name: str
    case: str  # key into the training results
    iters_per_phase: int
    n: int  # samples whose features are extracted and assigned
    subset: int  # rows the centroids are fitted on
    k: int


def overhead(quick: bool, trained: dict, extracted: dict, hdf: dict, smk: dict, tmp: Path) -> None:
    header("overhead")
    names = list(trained)
    schedules = [
        Schedule(
            "selfcond 2D ring/grid: recluster every 10,000 iterations, 10,000-point subset, k=50",
            names[0],
            10000,
            100000,
            10000,
            50,
        ),
    ]
    if not quick:
        schedules.append(
            Schedule(
                "selfcond CIFAR-10 (DCGAN): recluster every 25,000 iterations, 25,000-image subset, k=100",
                names[2],
                25000,
                50000,
                25000,
                100,
            )
        )
    else:
        schedules.append(Schedule("quick: digits", names[1], 1000, 1797, 1000, 10))
    lloyd_iters = (20, 300)
    for s in schedules:
        dim = extracted[s.case]["dim"]
        phase = s.iters_per_phase / trained[s.case]["ours"]
        t_extract = s.n / extracted[s.case]["images_per_s"]
        mb = s.n * dim * 4 / 2**20
        t_hdf5 = mb / hdf["write_mb_s"] + mb / hdf["read_mb_s"]
        # One Lloyd iteration = assign every fitted row + recompute means; measured at a reduced row
        # count with the schedule's D and k, then scaled linearly in rows (the cost is O(N D k)).
        rows = min(s.subset, 1000 if quick else 2000)
        x, warm = blobs(rows, dim, s.k)
        t_iter, _ = timed(lambda: fit_kmeans(x, s.k, seed=0, init=warm, max_iter=1, backend="sklearn"), 3)
        t_iter *= s.subset / rows
        t_assign, _ = timed(lambda: assign(x, warm), 3)
        t_assign *= s.n / rows
        old = np.random.default_rng(0).integers(0, s.k, s.n)
        t_match, _ = timed(lambda: match_clusters(old, np.roll(old, 1), s.k), 3)
        # Scheduling: two more jobs (extract, relabel) and a new train process per phase boundary,
        # each a Snakemake job and a relabelgan process start; the train job reloads data + model.
        work = trained[s.case]["work"]
        spec = trained[s.case]["spec"]
        t_reload, _ = timed(lambda: (load_run_dataset(spec), load_checkpoint(work / "round_01" / "model.pt")))
        t_sched = 3 * (smk["per_job"] + smk["process_start"]) + 3 * t_reload
        # Surgery: selfcond keeps k fixed (none); a split rewrites the checkpoint: one load + save.
        t_surgery, _ = timed(
            lambda: save_checkpoint(tmp / "surgery.pt", load_checkpoint(work / "round_01" / "model.pt"))
        )
        fixed = t_extract + t_hdf5 + t_assign + t_match + t_sched
        print(f"{s.name}")
        print(f"  phase: {s.iters_per_phase} iterations at {trained[s.case]['ours']:.2f} it/s = {phase:,.0f} s")
        print(
            f"  extract {s.n} x {dim}: {t_extract:.2f} s; features.h5 write+read {mb:.0f} MB: {t_hdf5:.2f} s; "
            f"assign all rows: {t_assign:.2f} s; Hungarian: {t_match * 1000:.1f} ms; "
            f"scheduling (3 jobs + 3 process starts + 3 data/model loads): {t_sched:.2f} s; "
            f"surgery (splitting only, checkpoint load+save): {t_surgery:.2f} s"
        )
        for iters in lloyd_iters:
            cluster = iters * t_iter
            total = fixed + cluster
            print(
                f"  k-means {s.subset} x {dim}, k={s.k}, {iters} Lloyd iterations ({t_iter:.3f} s each): "
                f"{cluster:.1f} s -> relabel overhead {total:.1f} s = {100 * total / phase:.2f}% of the phase "
                f"(with surgery {100 * (total + t_surgery) / phase:.2f}%)"
            )


# ----------------------------------------------------------------------------- gpu


def gpu_cases(tmp: Path) -> list[Case]:
    """CIFAR-shaped DCGAN (SN-GAN sizes) with class heads and the non-saturating loss (what selfcond trains;
    `random` keeps its round-0 labels, so no features are needed) and under the splitting GAN's WGAN-GP."""
    data = make_cifar_like(tmp / "cifar", 2000)
    dcgan = {"k": 10, "batch_size": 64, "z_dim": 128, "embed_dim": 256, "width": 64}
    return [
        Case(
            "cifar10-shaped / dcgan w64, class heads + non-saturating loss (selfcond's), batch 64",
            data,
            {"method": "random", **dcgan, "betas": [0.0, 0.99], "lr_g": 1e-4, "lr_d": 1e-4},
            300,
        ),
        Case(
            "cifar10-shaped / dcgan w64, splitting (WGAN-GP + AC, 5 critic steps), batch 64",
            data,
            {
                "method": "splitting",
                "schedule": "supervised",
                **dcgan,
                "betas": [0.0, 0.9],
                "lr_g": 2e-4,
                "lr_d": 2e-4,
                "d_steps": 5,
            },
            100,
        ),
    ]


def gpu_training_its(case: Case, precision: str, work: Path) -> float:
    """Iterations/s of `relabelgan train`'s loop for ``case`` at ``precision`` ('auto': bf16 on the GPU)."""
    spec = {**case_spec(case, max(1, case.iters // 10)), "precision": precision}
    work.mkdir(parents=True, exist_ok=True)
    return first_phase_its(spec, work)


def gpu_extraction_ips(case: Case, precision: str, work: Path) -> float:
    """Images/s of `feature_blocks` over the case's data with the model trained by :func:`gpu_training_its`."""
    spec = {**case_spec(case, 1), "precision": precision}
    device = pick_device(spec)
    _, D = load_networks(load_checkpoint(work / "round_01" / "model.pt"), device)
    data = load_run_dataset(spec)
    plan = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=precision)
    prepare_modules(plan, D)
    sum(len(b) for b in feature_blocks(D, data.x[:2048], spec["extract_batch"], device, plan))  # cuDNN warm-up
    seconds, _ = timed(lambda: sum(len(b) for b in feature_blocks(D, data.x, spec["extract_batch"], device, plan)), 2)
    return len(data) / seconds


def gpu_kmeans() -> None:
    """cuML vs scikit-learn at equal settings (k-means++, n_init 1), when cuML imports."""
    if not cuml_available():
        print("cuML not importable (or no GPU for it): GPU vs CPU k-means not measured")
        return
    for n, d, k in ((10000, 128, 10), (50000, 512, 100)):
        x, warm_start = blobs(n, d, k)
        for backend in ("sklearn", "cuml"):
            fit_kmeans(x[:1000], k, seed=0, n_init=1, backend=backend)  # warm-up (thread pools, CUDA context)
            t, res = timed(lambda: fit_kmeans(x, k, seed=0, n_init=1, backend=backend))
            t_warm, res_warm = timed(lambda: fit_kmeans(x, k, seed=0, init=warm_start, backend=backend))
            print(
                f"N={n} D={d} k={k} {backend}: k-means++ n_init=1 {t:.2f} s (inertia {res.inertia:.6g}), "
                f"warm start {t_warm:.2f} s (inertia {res_warm.inertia:.6g})"
            )


def gpu(tmp: Path) -> None:
    header("gpu")
    print("relabelgan train's loop, iterations/s (first to last log row); extraction over the 10,000 images")
    for i, case in enumerate(gpu_cases(tmp)):
        its, ips = {}, {}
        for precision in ("auto", "fp32"):
            work = tmp / f"gpu{i}_{precision}"
            its[precision] = gpu_training_its(case, precision, work)
            ips[precision] = gpu_extraction_ips(case, precision, work)
        print(
            f"{case.name}: bf16 + channels-last {its['auto']:.1f} it/s, fp32 {its['fp32']:.1f} it/s "
            f"(x{its['auto'] / its['fp32']:.2f}); extraction bf16 {ips['auto']:,.0f} images/s, "
            f"fp32 {ips['fp32']:,.0f} images/s (x{ips['auto'] / ips['fp32']:.2f}); {case.iters} iterations each"
        )
    gpu_kmeans()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run whose numbers mean nothing")
    parser.add_argument(
        "--workflow",
        type=Path,
        metavar="RESULTS",
        help="only: job-seconds per rule of a finished workflow run (its benchmark files)",
    )
    parser.add_argument("--gpu", action="store_true", help="only the GPU section: bf16 vs fp32, cuML vs scikit-learn")
    args = parser.parse_args(argv)
    if args.workflow:
        print(workflow_report(args.workflow))
        return
    if args.gpu and not torch.cuda.is_available():
        print(
            f"benchmark.py --gpu: no CUDA GPU visible to torch {torch.__version__}; run it on a GPU machine",
            file=sys.stderr,
        )
        sys.exit(2)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relabelgan-bench-") as tmp_name:
        tmp = Path(tmp_name)
        machine()
        if args.gpu:
            gpu(tmp)
            print(f"\nbenchmark finished in {time.perf_counter() - t0:.0f} s", flush=True)
            return
        trained = training(args.quick, tmp)
        extracted = extraction(args.quick, trained)
        kmeans(args.quick)
        hungarian(args.quick)
        hdf = hdf5(args.quick, tmp)
        smk = snakemake_overhead(args.quick, tmp)
        overhead(args.quick, trained, extracted, hdf, smk, tmp)
    print(f"\nbenchmark finished in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
