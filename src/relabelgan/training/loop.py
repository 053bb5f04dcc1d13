"""The training loop of one phase, from model r-1 and labels r-1 to model r.

The loop is method-agnostic: the method hands it a list of updates (training/plan.py: D x d_steps,
G, and e.g. slcgan's C), a sampling plan for how real and fake classes are drawn, and an objective
whose ``loss(update, networks, batch)`` it calls; it never asks which method it trains. A phase keeps
an in-phase snapshot (``resume.pt`` beside its outputs, not itself an output) so a killed or
pre-empted job continues where it stopped; SIGTERM writes the snapshot and exits with status 143.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..core.artifacts import LabelRound, atomic_path, read_labels, sha256
from ..core.config import stage_settings
from ..core.errors import DivergedError
from ..core.progress import Progress
from ..core.seeding import derive_seed
from ..data import load_run_dataset
from ..data.base import Dataset
from ..methods import get_method
from ..networks import Discriminator, Generator, real_data_statistics
from .accel import AccelPlan, BatchSource, accel_plan, autocast, prepare_modules
from .checkpoint import load_all_networks, load_checkpoint, non_finite_weights, save_checkpoint
from .device import pick_device
from .losses import Objective
from .preemption import SIGTERM_EXIT, Launcher, Preempted
from .round_outputs import RoundOutputs, write_round_outputs
from .samples import save_sample_figure
from .sampling import BatchPlan
from .updates import Update, build_updates, set_learning_rates

RESUME_NAME = "resume.pt"
# A logged loss beyond this magnitude means the phase diverged: the GAN losses here stay within a few
# hundred while training works (WGAN-GP critics included), and a run at absurd learning rates reaches 1e26.
DIVERGED_LOSS = 1e6


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
    if spec["lr_decay"] == "linear":
        total = spec["rounds"] * spec["iters_per_phase"]
        return max(0.0, 1.0 - global_iter / total)
    return 1.0


@dataclass
class Resume:
    """Where a phase resumes from: the checksums of model r-1 and labels r-1 (a snapshot resumes only
    with these), the snapshot's path, the iterations done and the log rows so far."""

    inputs: dict[str, str]
    path: Path
    done: int = 0
    log_rows: list[dict] = field(default_factory=list)


@dataclass
class Phase:
    """Everything one running phase holds. Built by :func:`setup_phase`."""

    spec: dict
    rnd: int
    device: torch.device
    accel: AccelPlan
    data: Dataset
    labels: LabelRound
    state: dict  # the checkpoint the phase started from (or its resume snapshot): arch, method_state
    first_iter: int  # generator steps before this phase, over all phases
    networks: dict[str, nn.Module]  # by name: G, D and the method's own
    updates: list[Update]
    objective: Objective
    batches: BatchPlan
    resume: Resume

    def snapshot(self, phase_iter: int) -> dict[str, Any]:
        """The checkpoint of the phase after ``phase_iter`` of its iterations."""
        snap = {
            "arch": self.state["arch"],
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {u.name: u.optimizer.state_dict() for u in self.updates},
            "iteration": self.first_iter + phase_iter,
            "round": self.rnd,
            "rng": _rng_state(self.batches.gen),
            "method_state": {**self.state.get("method_state", {}), "class_sizes": self.batches.fake_weights},
        }
        if "extra_arch" in self.state:
            snap["extra_arch"] = self.state["extra_arch"]
        return snap

    def save_resume(self, phase_iter: int) -> None:
        snap = self.snapshot(phase_iter)
        check_weights(self, snap, phase_iter)
        r = self.resume
        save_checkpoint(r.path, {**snap, "phase_iter": phase_iter, "inputs": r.inputs, "log": r.log_rows})


def phase_inputs(spec: dict, model_in: str, labels_path: str) -> dict[str, str]:
    """What a resume snapshot must have been made from: model r-1's and labels r-1's checksums and the
    settings a phase computes from (the workflow's params of a phase), so a rerun under changed
    training settings starts the phase afresh, and one under changed metric settings resumes."""
    text = json.dumps(stage_settings(spec, "train"), sort_keys=True, default=str)
    return {
        "model_in": sha256(model_in),
        "labels": sha256(labels_path),
        "spec": hashlib.sha256(text.encode()).hexdigest(),
    }


def _resume_point(resume_path: Path, inputs: dict, rnd: int, start: dict) -> tuple[dict, int, list[dict]]:
    """(state, iterations done, log rows): the in-phase snapshot when it was made from these inputs."""
    if resume_path.exists():
        snap = load_checkpoint(resume_path)
        if snap.get("inputs") == inputs and snap.get("round") == rnd:
            print(f"resuming phase {rnd} from {resume_path} at iteration {int(snap['phase_iter'])}", flush=True)
            return snap, int(snap["phase_iter"]), list(snap["log"])
        print(f"ignoring {resume_path}: it was made from other inputs or settings", flush=True)
    return start, 0, []


def _phase_generator(spec: dict, rnd: int, device: torch.device, snapshot: dict | None) -> torch.Generator:
    """The phase's seeded sampling generator (and torch's global seed); a resume snapshot's state when resuming."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(spec["seed"], "train", rnd))
    torch.manual_seed(derive_seed(spec["seed"], "train-global", rnd))
    if snapshot is not None and "rng" in snapshot:
        _set_rng_state(gen, snapshot["rng"])
    return gen


def _batch_plan(spec: dict, method, labels: LabelRound, data: Dataset, accel: AccelPlan, gen, device) -> BatchPlan:
    return BatchPlan(
        method.sampling(spec),
        BatchSource(data.x, accel),  # on the device when it fits (always on CPU), else pinned host memory
        torch.from_numpy(labels.labels).to(device),
        torch.from_numpy(labels.sample_index).to(device),
        labels.k,
        torch.as_tensor(labels.sizes),
        spec["batch_size"],
        spec["z_dim"],
        gen,
    )


def setup_phase(spec: dict, rnd: int, model_in: str, labels_path: str, model_out: str) -> Phase:
    """Load model r-1 and labels r-1 (or the phase's resume snapshot) and build the phase's state."""
    if rnd < 1:
        raise ValueError(f"phase numbers start at 1 (round 0 is the initialisation), got {rnd}")
    device = pick_device(spec)
    data = load_run_dataset(spec)
    labels = read_labels(labels_path, n_samples=len(data))
    method = get_method(spec["method"])
    # The method may change model r-1 before the phase (splitting grows it when the labels split a class).
    start = method.start_model(load_checkpoint(model_in), labels, labels_path, model_in)
    resume_path = Path(model_out).parent / RESUME_NAME
    inputs = phase_inputs(spec, model_in, labels_path)
    state, done, log_rows = _resume_point(resume_path, inputs, rnd, start)

    networks = load_all_networks(state, method, device)
    accel = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=spec["precision"])
    prepare_modules(accel, networks["G"], networks["D"])
    updates = build_updates(method.updates(spec), networks, spec, state.get("optimizers", {}))
    gen = _phase_generator(spec, rnd, device, state if done > 0 else None)
    return Phase(
        spec=spec,
        rnd=rnd,
        device=device,
        accel=accel,
        data=data,
        labels=labels,
        state=state,
        first_iter=int(start["iteration"]),
        networks=networks,
        updates=updates,
        objective=method.make_loss(spec),
        batches=_batch_plan(spec, method, labels, data, accel, gen, device),
        resume=Resume(inputs, resume_path, done, log_rows),
    )


def train_step(p: Phase, it: int) -> tuple[dict[str, torch.Tensor], dict]:
    """One iteration: every update in order, each ``repeats`` times; returns the last loss of each
    update by network name, and the stats of all of them."""
    set_learning_rates(p.updates, _lr_factor(p.spec, p.first_iter + it))
    losses: dict[str, torch.Tensor] = {}
    stats: dict = {}
    for update in p.updates:
        for _ in range(update.spec.repeats):
            batch = p.batches.draw(update.spec.draws)
            # e.g. G's step back-propagates through D but needs none of D's weight gradients (D's next step
            # zeroes them): with D frozen the backward pass does less work and the updates are unchanged.
            with update.no_weight_gradients(), autocast(p.accel):
                loss, update_stats = p.objective.loss(update.name, p.networks, batch)
            update.step(loss)
        losses[update.name] = loss
        stats.update(update_stats)
    return losses, stats


def _log_row(p: Phase, it: int, losses: dict[str, torch.Tensor], stats: dict, seconds: float) -> dict:
    return {
        "round": p.rnd,
        "iteration": p.first_iter + it + 1,
        **{f"{name.lower()}_loss": loss.item() for name, loss in losses.items()},
        # Losses may return stats as tensors: reading them only here saves a device sync per step.
        **{key: float(value) for key, value in stats.items()},
        "seconds": seconds,
    }


def _healthy(row: dict) -> bool:
    return all(math.isfinite(v) and abs(v) <= DIVERGED_LOSS for k, v in row.items() if k.endswith("_loss"))


def _losses_text(row: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k.endswith("_loss"))


def diverged(p: Phase, what: str) -> DivergedError:
    """The phase's divergence error (``what``: where it showed); its resume snapshot is deleted first, so
    a rerun starts the phase afresh rather than from a state on its way to diverging."""
    p.resume.path.unlink(missing_ok=True)
    spec = p.spec
    return DivergedError(
        f"run {spec['name']!r} seed {spec['seed']} phase {p.rnd} diverged: {what}. Nothing was written for "
        f"this phase; lower lr_d / lr_g (now {spec['lr_d']:g} / {spec['lr_g']:g}) and rerun it"
    )


def check_losses(p: Phase, rows: list[dict]) -> None:
    """Stop the phase when its newest log row has a loss that is not finite or beyond DIVERGED_LOSS."""
    row = rows[-1]
    if _healthy(row):
        return
    last = next((r for r in reversed(rows[:-1]) if _healthy(r)), None)
    before = f"; last healthy at iteration {last['iteration']}: {_losses_text(last)}" if last else ""
    raise diverged(p, f"at iteration {row['iteration']} its losses are {_losses_text(row)}{before}")


def check_weights(p: Phase, snapshot: dict, phase_iter: int) -> None:
    """Stop the phase rather than write ``snapshot`` (a resume.pt or model.pt) holding NaN or inf weights."""
    bad = non_finite_weights(snapshot["networks"])
    if bad:
        raise diverged(p, f"at iteration {p.first_iter + phase_iter} weights {bad} are not finite")


def _stop(p: Phase, it: int, why: str) -> None:
    p.save_resume(it)
    print(f"{why}: snapshot written to {p.resume.path} at iteration {it}; exiting", flush=True)
    raise SystemExit(SIGTERM_EXIT)


def run_loop(p: Phase) -> None:
    """Iterations ``done`` .. ``iters_per_phase``: log rows, resume snapshots, status lines; SIGTERM,
    SIGINT or the launcher's death (see :class:`~.preemption.Launcher`) writes a snapshot and exits 143."""
    total, rows = p.spec["iters_per_phase"], p.resume.log_rows
    for net in p.networks.values():
        net.train()
    t0 = time.perf_counter()
    progress = Progress(f"phase {p.rnd}", total, p.resume.done, p.spec["progress_every"])
    launcher = Launcher()
    with Preempted() as preempt, progress:
        for it in range(p.resume.done, total):
            if preempt.requested or launcher.gone():
                _stop(p, it, preempt.requested or f"launcher (pid {launcher.launcher}) gone")
            losses, stats = train_step(p, it)
            if (it + 1) % p.spec["log_every"] == 0 or it + 1 == total:
                rows.append(_log_row(p, it, losses, stats, time.perf_counter() - t0))
                check_losses(p, rows)
            if (it + 1) % p.spec["snapshot_every"] == 0 and it + 1 < total:
                p.save_resume(it + 1)
            progress.update(it + 1, rows[-1] if rows else {})


def finish_phase(
    p: Phase,
    model_in: str,
    labels_path: str,
    model_out: str,
    log_path: str,
    samples_path: str,
    round_outputs: RoundOutputs | None,
) -> None:
    """Write model r (with provenance), the log, the sample figure and the round's outputs; drop the snapshot."""
    G, D = cast(Generator, p.networks["G"]), cast(Discriminator, p.networks["D"])
    real_data_statistics(D, p.data.x, p.spec["extract_batch"], p.device)
    # The classes G ends the phase drawn by (checkpoint's class_sizes: the metrics', the samples'): the
    # labels file's, unless the method's classes moved during the phase.
    sizes = get_method(p.spec["method"]).trained_class_sizes(p.networks, p.data.x, p.spec, p.device)
    if sizes is not None:
        p.batches.sizes = torch.as_tensor(sizes)
    final = p.snapshot(p.spec["iters_per_phase"])
    check_weights(p, final, p.spec["iters_per_phase"])
    final["provenance"] = {
        "spec": p.spec,
        "model_in": {"path": str(model_in), "sha256": p.resume.inputs["model_in"]},
        "labels": {"path": str(labels_path), "sha256": p.resume.inputs["labels"]},
        "relabelgan": __version__,
        "torch": str(torch.__version__),
        "device": str(p.device),
    }
    save_checkpoint(model_out, final)
    _write_log(log_path, p.resume.log_rows)
    G.eval()
    weights = p.batches.fake_weights.to(torch.float64)
    seed = derive_seed(p.spec["seed"], "samples", p.rnd)
    which = f"{p.spec['name']}, seed {p.spec['seed']}, round {p.rnd}"
    save_sample_figure(G, p.data, weights, p.spec["z_dim"], samples_path, seed=seed, device=p.device, which=which)
    if round_outputs:
        write_round_outputs(p.spec, p.rnd, final, model_out, p.labels, round_outputs, p.data, p.networks)
    p.resume.path.unlink(missing_ok=True)


def train_phase(
    spec: dict,
    rnd: int,
    model_in: str,
    labels_path: str,
    model_out: str,
    log_path: str,
    samples_path: str,
    round_outputs: RoundOutputs | None = None,
) -> None:
    """Train phase ``rnd`` (1-based) and write its checkpoint, training log and sample figure.

    With ``round_outputs``, also the round's features.h5 and metrics.csv (round_outputs.py), before
    the in-phase snapshot is dropped: a job killed while writing them resumes from that snapshot.
    """
    phase = setup_phase(spec, rnd, model_in, labels_path, model_out)
    run_loop(phase)
    finish_phase(phase, model_in, labels_path, model_out, log_path, samples_path, round_outputs)


def _write_log(path: str, rows: list[dict]) -> None:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, restval=np.nan)
        writer.writeheader()
        writer.writerows(rows)
