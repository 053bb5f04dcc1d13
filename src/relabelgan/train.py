"""`relabelgan train`: one training phase, from model r-1 and labels r-1 to model r.

The loop is method-agnostic: it samples real (x, label) pairs uniformly (so classes are
drawn in proportion to their size), samples fake classes from the same label
distribution, and calls the run's loss object. A phase keeps an in-phase snapshot
(``resume.pt`` beside its outputs, not itself an output) so a killed or pre-empted job
continues where it stopped; SIGTERM writes the snapshot and exits with status 143.
"""

from __future__ import annotations

import csv
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .accel import BatchSource, accel_plan, autocast, prepare_modules
from .artifacts import ArtifactError, atomic_path, read_labels, sha256
from .checkpoint import load_checkpoint, load_networks, save_checkpoint
from .datasets import load_dataset
from .device import derive_seed, pick_device
from .losses import OwnsNetworks, make_loss
from .methods import get_method
from .progress import Progress
from .samples import save_sample_figure
from .surgery import grow_checkpoint

SIGTERM_EXIT = 143
RESUME_NAME = "resume.pt"


class _Preempted:
    """Turns SIGTERM into a flag the loop checks between iterations."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> "_Preempted":
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGTERM, self._previous)


def _rng_state(gen: torch.Generator) -> dict[str, torch.Tensor]:
    state = {"sampler": gen.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(gen: torch.Generator, state: dict[str, torch.Tensor]) -> None:
    gen.set_state(state["sampler"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _lr_factor(spec: dict, global_iter: int) -> float:
    if spec.get("lr_decay", "none") == "linear":
        total = spec["rounds"] * spec["iters_per_phase"]
        return max(0.0, 1.0 - global_iter / total)
    return 1.0


def _set_lr(optimizers: tuple[tuple[torch.optim.Optimizer, float], ...], factor: float) -> None:
    """Each optimizer's learning rate = its base rate x ``factor`` (linear decay: see _lr_factor)."""
    for opt, base in optimizers:
        for group in opt.param_groups:
            group["lr"] = base * factor


def train_phase(
    spec: dict,
    rnd: int,
    model_in: str,
    labels_path: str,
    model_out: str,
    log_path: str,
    samples_path: str,
) -> None:
    """Train phase ``rnd`` (1-based) and write its checkpoint, training log and sample figure."""
    if rnd < 1:
        raise ValueError(f"phase numbers start at 1 (round 0 is the initialisation), got {rnd}")
    method = get_method(spec["method"])
    device = pick_device(spec)
    data = load_dataset(spec["dataset_spec"], spec["dataset"])
    labels = read_labels(labels_path, n_samples=len(data))
    start = load_checkpoint(model_in)
    if method.grows and labels.k > start["arch"]["n_classes"]:
        # The labels split some classes: rebuild the networks for the grown class tree
        # (children start as exact copies of their parents; Adam moments are carried over).
        try:
            start = grow_checkpoint(start, labels)
        except ArtifactError as e:
            raise ArtifactError(f"{labels_path} with {model_in}: {e}") from e
        print(f"phase {rnd}: classes split, {start['method_state']['split_from_classes']} -> {labels.k}", flush=True)
    if labels.k != start["arch"]["n_classes"]:
        raise ArtifactError(
            f"{labels_path}: has {labels.k} classes but {model_in} was built for {start['arch']['n_classes']}; "
            f"method {method.name!r} keeps the class count fixed. Rerun relabel for this round."
        )

    resume_path = Path(model_out).parent / RESUME_NAME
    inputs = {"model_in": sha256(model_in), "labels": sha256(labels_path)}
    state = start
    done, log_rows = 0, []
    if resume_path.exists():
        snap = load_checkpoint(resume_path)
        if snap.get("inputs") == inputs and snap.get("round") == rnd:
            state, done, log_rows = snap, int(snap["phase_iter"]), list(snap["log"])
            print(f"resuming phase {rnd} from {resume_path} at iteration {done}", flush=True)
        else:
            print(f"ignoring {resume_path}: it was made from other inputs", flush=True)

    G, D = load_networks(state, device)
    plan = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=spec.get("precision", "auto"))
    prepare_modules(plan, G, D)
    spec_lr = (spec["lr_g"], spec["lr_d"])
    opt_G = torch.optim.Adam(G.parameters(), lr=spec_lr[0], betas=tuple(spec["betas"]))
    opt_D = torch.optim.Adam(D.parameters(), lr=spec_lr[1], betas=tuple(spec["betas"]))
    if state.get("opt_G") is not None:
        opt_G.load_state_dict(state["opt_G"])
        opt_D.load_state_dict(state["opt_D"])

    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(spec["seed"], "train", rnd))
    torch.manual_seed(derive_seed(spec["seed"], "train-global", rnd))
    if "rng" in state and done > 0:
        _set_rng_state(gen, state["rng"])

    x_all = BatchSource(data.x, plan)  # on the device when it fits (always on CPU), else pinned host memory
    y_all = torch.from_numpy(labels.labels).to(device)
    idx_all = torch.from_numpy(labels.sample_index).to(device)
    loss = make_loss(method.loss, spec)
    n, bs, z_dim = len(y_all), spec["batch_size"], spec["z_dim"]
    first_iter = int(start["iteration"])
    # An objective may own networks beside G and D (slcgan's C); they live in the checkpoint's 'extra'.
    owned = loss if isinstance(loss, OwnsNetworks) else None
    if owned:
        owned.load_extra(state.get("extra"), device, str(resume_path if done else model_in))
    extra_opts = owned.extra_optimizers() if owned else []
    uniform_fakes = getattr(loss, "fake_classes", "labels") == "uniform"
    # What G is conditioned on during training, kept as the checkpoint's sampling weights.
    fake_weights = torch.ones(labels.k) if uniform_fakes else torch.as_tensor(labels.sizes)

    def draw_labels() -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(n, (bs,), device=device, generator=gen)
        return i, y_all[i]

    def draw() -> tuple[torch.Tensor, torch.Tensor]:
        i, y = draw_labels()
        return x_all(idx_all[i]), y

    def draw_fake_classes() -> torch.Tensor:
        if uniform_fakes:
            return torch.randint(labels.k, (bs,), device=device, generator=gen)
        return draw_labels()[1]  # same random stream as a full draw, without gathering images

    def snapshot_state(phase_iter: int) -> dict[str, Any]:
        return {
            "arch": state["arch"],
            "G": G.state_dict(),
            "D": D.state_dict(),
            "opt_G": opt_G.state_dict(),
            "opt_D": opt_D.state_dict(),
            "iteration": first_iter + phase_iter,
            "round": rnd,
            "rng": _rng_state(gen),
            "method_state": {**state.get("method_state", {}), "class_sizes": fake_weights},
            **({"extra": owned.extra_state()} if owned else {}),
        }

    G.train()
    D.train()
    t0 = time.perf_counter()
    progress = Progress(f"phase {rnd}", spec["iters_per_phase"], done, spec["progress_every"])
    with _Preempted() as preempt, progress:
        for it in range(done, spec["iters_per_phase"]):
            if preempt.requested:
                save_checkpoint(resume_path, {**snapshot_state(it), "phase_iter": it, "inputs": inputs, "log": log_rows})
                print(f"SIGTERM: snapshot written to {resume_path} at iteration {it}; exiting", flush=True)
                raise SystemExit(SIGTERM_EXIT)
            _set_lr(((opt_G, spec_lr[0]), (opt_D, spec_lr[1]), *extra_opts), _lr_factor(spec, first_iter + it))
            for _ in range(spec["d_steps"]):
                real, y_real = draw()
                z = torch.randn(bs, z_dim, device=device, generator=gen)
                y_fake = draw_fake_classes()
                with autocast(plan):
                    d_loss, d_stats = loss.d_loss(G, D, real, y_real, z, y_fake)
                opt_D.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_D.step()
            z = torch.randn(bs, z_dim, device=device, generator=gen)
            y_fake = draw_fake_classes()
            with autocast(plan):
                g_loss, g_stats = loss.g_loss(G, D, z, y_fake)
            opt_G.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_G.step()
            extra_stats = {}
            if owned:
                with autocast(plan):
                    extra_loss, extra_stats = owned.extra_loss(G, D, draw()[0], gen)
                for opt, _ in extra_opts:
                    opt.zero_grad(set_to_none=True)
                extra_loss.backward()
                for opt, _ in extra_opts:
                    opt.step()
            if (it + 1) % spec["log_every"] == 0 or it + 1 == spec["iters_per_phase"]:
                log_rows.append(
                    {
                        "round": rnd,
                        "iteration": first_iter + it + 1,
                        "d_loss": d_loss.item(),
                        "g_loss": g_loss.item(),
                        # Losses may return stats as tensors: reading them only here saves a device sync per step.
                        **{key: float(value) for key, value in {**d_stats, **g_stats, **extra_stats}.items()},
                        "seconds": time.perf_counter() - t0,
                    }
                )
            if (it + 1) % spec["snapshot_every"] == 0 and it + 1 < spec["iters_per_phase"]:
                save_checkpoint(
                    resume_path, {**snapshot_state(it + 1), "phase_iter": it + 1, "inputs": inputs, "log": log_rows}
                )
            progress.update(it + 1, log_rows[-1] if log_rows else {})

    final = snapshot_state(spec["iters_per_phase"])
    final["provenance"] = {
        "spec": spec,
        "model_in": {"path": str(model_in), "sha256": inputs["model_in"]},
        "labels": {"path": str(labels_path), "sha256": inputs["labels"]},
        "relabelgan": __version__,
        "torch": str(torch.__version__),
        "device": str(device),
    }
    save_checkpoint(model_out, final)
    _write_log(log_path, log_rows)
    G.eval()
    save_sample_figure(
        G, data, fake_weights.to(torch.float64), z_dim, samples_path,
        seed=derive_seed(spec["seed"], "samples", rnd), device=device,
    )
    resume_path.unlink(missing_ok=True)


def _write_log(path: str, rows: list[dict]) -> None:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys, restval=np.nan)
            writer.writeheader()
            writer.writerows(rows)
