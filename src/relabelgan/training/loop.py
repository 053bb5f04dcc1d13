"""`relabelgan train`: one training phase, from model r-1 and labels r-1 to model r.

The loop is method-agnostic: it samples real (x, label) pairs uniformly (so classes are
drawn in proportion to their size), samples fake classes from the same label
distribution, and calls the run's loss object. A phase keeps an in-phase snapshot
(``resume.pt`` beside its outputs, not itself an output) so a killed or pre-empted job
continues where it stopped; SIGTERM writes the snapshot and exits with status 143.
"""

from __future__ import annotations

import csv
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..core.artifacts import LabelRound, atomic_path, read_labels, sha256
from ..core.progress import Progress
from ..data import load_run_dataset
from ..data.base import Dataset
from ..methods import get_method
from ..networks import Discriminator, Generator, frozen, real_data_statistics
from .accel import AccelPlan, BatchSource, accel_plan, autocast, prepare_modules
from .checkpoint import load_checkpoint, load_networks, save_checkpoint
from .device import derive_seed, pick_device
from .losses import OwnsNetworks
from .round_outputs import RoundOutputs, write_round_outputs
from .samples import save_sample_figure

SIGTERM_EXIT = 143
RESUME_NAME = "resume.pt"


class _Preempted:
    """Turns SIGTERM (a batch system's pre-emption) and SIGINT (Ctrl-C) into a flag the loop checks
    between iterations, so either ends the phase with a snapshot."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> "_Preempted":
        self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)


SHELLS = {"sh", "bash", "dash", "zsh"}


def _proc_field(pid: int, name: str) -> str | None:
    """``comm`` or the parent pid of a process, from /proc (None where there is no /proc or no such process)."""
    try:
        if name == "comm":
            return Path(f"/proc/{pid}/comm").read_text().strip()
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]  # field 4: ppid
    except (OSError, IndexError):
        return None


class _Launcher:
    """The process that started this phase (Snakemake, or whoever ran the command), past the job's shell.

    Killing Snakemake with SIGKILL leaves its jobs running; a phase that notices its launcher is gone
    stops as on SIGTERM (snapshot, exit 143) instead of training on as an orphan that a rerun would
    duplicate. Checked every ``every_s`` seconds; without /proc, only a change of parent is noticed.
    """

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s, self.last = every_s, time.monotonic()
        self.parent = os.getppid()
        self.launcher = self.parent
        if _proc_field(self.parent, "comm") in SHELLS:  # `bash -c 'set -euo pipefail; relabelgan ...'`
            grandparent = _proc_field(self.parent, "ppid")
            self.launcher = int(grandparent) if grandparent and int(grandparent) > 1 else self.parent

    def gone(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return False
        self.last = now
        if os.getppid() != self.parent:
            return True
        try:
            os.kill(self.launcher, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, owned by another user
            return False
        return False


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


def _set_lr(optimizers: tuple[tuple[torch.optim.Optimizer, float], ...], factor: float) -> None:
    """Each optimizer's learning rate = its base rate x ``factor`` (linear decay: see _lr_factor)."""
    for opt, base in optimizers:
        for group in opt.param_groups:
            group["lr"] = base * factor


@dataclass
class Phase:
    """Everything one running phase holds: networks, optimisers, the data and labels it draws from,
    its random stream and where it resumes from. Built by :func:`setup_phase`."""

    spec: dict
    rnd: int
    device: torch.device
    plan: AccelPlan
    data: Dataset
    labels: LabelRound
    state: dict  # the checkpoint the phase started from (or its resume snapshot): arch, method_state
    first_iter: int  # generator steps before this phase, over all phases
    G: Generator
    D: Discriminator
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    loss: Any
    owned: OwnsNetworks | None  # the objective, when it trains networks of its own (slcgan's C)
    gen: torch.Generator
    x_all: BatchSource
    y_all: torch.Tensor
    idx_all: torch.Tensor
    uniform_fakes: bool
    labels_per_batch: bool  # classes drawn afresh for every batch (random labels, the reference's baseline)
    paired_fakes: bool  # a D step's fakes take the real batch's classes; G's step reuses them (fake_batch)
    inputs: dict[str, str]  # checksums of model r-1 and labels r-1: a snapshot resumes only with these
    resume_path: Path
    done: int = 0
    log_rows: list[dict] = field(default_factory=list)

    @property
    def fake_weights(self) -> torch.Tensor:
        """What G is conditioned on during training, kept as the checkpoint's sampling weights."""
        return torch.ones(self.labels.k) if self.uniform_fakes else torch.as_tensor(self.labels.sizes)

    def draw_indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(len(self.y_all), (self.spec["batch_size"],), device=self.device, generator=self.gen)
        return i, self.y_all[i]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of real samples and their labels, drawn uniformly (classes in proportion to size)."""
        i, y = self.draw_indices()
        if self.labels_per_batch:
            y = torch.randint(self.labels.k, (len(i),), device=self.device, generator=self.gen)
        return self.x_all(self.idx_all[i]), y

    def draw_fake_classes(self) -> torch.Tensor:
        if self.uniform_fakes:
            return torch.randint(self.labels.k, (self.spec["batch_size"],), device=self.device, generator=self.gen)
        return self.draw_indices()[1]  # same random stream as a full draw, without gathering images

    def draw_z(self) -> torch.Tensor:
        return torch.randn(self.spec["batch_size"], self.spec["z_dim"], device=self.device, generator=self.gen)

    def d_fakes(self, y_real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z and classes of a D step's fakes: drawn afresh, or (``fake_batch: paired``) the real batch's
        classes, as the self-conditioned GAN's Trainer does, so each class head sees as many fakes as reals."""
        z = self.draw_z()
        return z, (y_real if self.paired_fakes else self.draw_fake_classes())

    def g_fakes(self, last_d: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """z and classes of the G step: drawn afresh, or (``paired``) the last D step's, as that Trainer does."""
        return last_d if self.paired_fakes else (self.draw_z(), self.draw_fake_classes())

    def optimizers(self) -> tuple[tuple[torch.optim.Optimizer, float], ...]:
        """Every optimizer with its base learning rate (G, D, then the objective's own)."""
        extra = self.owned.extra_optimizers() if self.owned else []
        return ((self.opt_G, self.spec["lr_g"]), (self.opt_D, self.spec["lr_d"]), *extra)

    def snapshot(self, phase_iter: int) -> dict[str, Any]:
        """The checkpoint of the phase after ``phase_iter`` of its iterations."""
        return {
            "arch": self.state["arch"],
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "iteration": self.first_iter + phase_iter,
            "round": self.rnd,
            "rng": _rng_state(self.gen),
            "method_state": {**self.state.get("method_state", {}), "class_sizes": self.fake_weights},
            **({"extra": self.owned.extra_state()} if self.owned else {}),
        }

    def save_resume(self, phase_iter: int) -> None:
        save_checkpoint(
            self.resume_path,
            {**self.snapshot(phase_iter), "phase_iter": phase_iter, "inputs": self.inputs, "log": self.log_rows},
        )


def _resume_point(resume_path: Path, inputs: dict, rnd: int, start: dict) -> tuple[dict, int, list[dict]]:
    """(state, iterations done, log rows): the in-phase snapshot when it was made from these inputs."""
    if resume_path.exists():
        snap = load_checkpoint(resume_path)
        if snap.get("inputs") == inputs and snap.get("round") == rnd:
            print(f"resuming phase {rnd} from {resume_path} at iteration {int(snap['phase_iter'])}", flush=True)
            return snap, int(snap["phase_iter"]), list(snap["log"])
        print(f"ignoring {resume_path}: it was made from other inputs", flush=True)
    return start, 0, []


def _optimizers(spec: dict, state: dict, G: Generator, D: Discriminator) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and D, with the checkpoint's moments when it has them."""
    opt_G = torch.optim.Adam(G.parameters(), lr=spec["lr_g"], betas=tuple(spec["betas"]))
    opt_D = torch.optim.Adam(D.parameters(), lr=spec["lr_d"], betas=tuple(spec["betas"]))
    if state.get("opt_G") is not None:
        opt_G.load_state_dict(state["opt_G"])
        opt_D.load_state_dict(state["opt_D"])
    return opt_G, opt_D


def _phase_generator(spec: dict, rnd: int, device: torch.device, snapshot: dict | None) -> torch.Generator:
    """The phase's seeded sampling generator (and torch's global seed); a resume snapshot's state when resuming."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(spec["seed"], "train", rnd))
    torch.manual_seed(derive_seed(spec["seed"], "train-global", rnd))
    if snapshot is not None and "rng" in snapshot:
        _set_rng_state(gen, snapshot["rng"])
    return gen


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
    inputs = {"model_in": sha256(model_in), "labels": sha256(labels_path)}
    state, done, log_rows = _resume_point(resume_path, inputs, rnd, start)

    G, D = load_networks(state, device)
    plan = accel_plan(device, tuple(data.x.shape[1:]), len(data), precision=spec["precision"])
    prepare_modules(plan, G, D)
    opt_G, opt_D = _optimizers(spec, state, G, D)
    gen = _phase_generator(spec, rnd, device, state if done > 0 else None)

    loss = method.make_loss(spec)
    # An objective may own networks beside G and D (slcgan's C); they live in the checkpoint's 'extra'.
    owned = loss if isinstance(loss, OwnsNetworks) else None
    if owned:
        owned.load_extra(state.get("extra"), device, str(resume_path if done else model_in))
    return Phase(
        spec=spec,
        rnd=rnd,
        device=device,
        plan=plan,
        data=data,
        labels=labels,
        state=state,
        first_iter=int(start["iteration"]),
        G=G,
        D=D,
        opt_G=opt_G,
        opt_D=opt_D,
        loss=loss,
        owned=owned,
        gen=gen,
        # on the device when it fits (always on CPU), else pinned host memory
        x_all=BatchSource(data.x, plan),
        y_all=torch.from_numpy(labels.labels).to(device),
        idx_all=torch.from_numpy(labels.sample_index).to(device),
        uniform_fakes=method.fake_classes(spec) == "uniform",
        labels_per_batch=method.draws_batch_labels(spec),
        paired_fakes=method.fake_batch(spec) == "paired",
        inputs=inputs,
        resume_path=resume_path,
        done=done,
        log_rows=log_rows,
    )


def train_step(p: Phase, it: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """One generator step after ``spec['d_steps']`` discriminator steps (and the objective's own step)."""
    _set_lr(p.optimizers(), _lr_factor(p.spec, p.first_iter + it))
    for _ in range(p.spec["d_steps"]):
        real, y_real = p.draw()
        z, y_fake = p.d_fakes(y_real)
        with autocast(p.plan):
            d_loss, d_stats = p.loss.d_loss(p.G, p.D, real, y_real, z, y_fake)
        p.opt_D.zero_grad(set_to_none=True)
        d_loss.backward()
        p.opt_D.step()
    z, y_fake = p.g_fakes((z, y_fake))
    # G's step back-propagates through D but needs none of D's weight gradients (D's next step
    # zeroes them): with D frozen the backward pass does less work and the updates are unchanged.
    with frozen(p.D), autocast(p.plan):
        g_loss, g_stats = p.loss.g_loss(p.G, p.D, z, y_fake)
    p.opt_G.zero_grad(set_to_none=True)
    g_loss.backward()
    p.opt_G.step()
    return d_loss, g_loss, {**d_stats, **g_stats, **_extra_step(p)}


def _extra_step(p: Phase) -> dict:
    """The step of the networks an objective owns (slcgan's C); none for the others."""
    if not p.owned:
        return {}
    with autocast(p.plan):
        extra_loss, stats = p.owned.extra_loss(p.G, p.D, p.draw()[0], p.gen)
    extra_opts = [opt for opt, _ in p.optimizers()[2:]]
    for opt in extra_opts:
        opt.zero_grad(set_to_none=True)
    extra_loss.backward()
    for opt in extra_opts:
        opt.step()
    return stats


def _log_row(p: Phase, it: int, d_loss: torch.Tensor, g_loss: torch.Tensor, stats: dict, seconds: float) -> dict:
    return {
        "round": p.rnd,
        "iteration": p.first_iter + it + 1,
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        # Losses may return stats as tensors: reading them only here saves a device sync per step.
        **{key: float(value) for key, value in stats.items()},
        "seconds": seconds,
    }


def run_loop(p: Phase) -> None:
    """Iterations ``p.done`` .. ``iters_per_phase``: log rows, resume snapshots, status lines; SIGTERM,
    SIGINT or the launcher's death (see :class:`_Launcher`) writes a snapshot and exits 143."""
    total = p.spec["iters_per_phase"]
    p.G.train()
    p.D.train()
    t0 = time.perf_counter()
    progress = Progress(f"phase {p.rnd}", total, p.done, p.spec["progress_every"])
    launcher = _Launcher()
    with _Preempted() as preempt, progress:
        for it in range(p.done, total):
            if preempt.requested or launcher.gone():
                p.save_resume(it)
                why = preempt.requested or f"launcher (pid {launcher.launcher}) gone"
                print(f"{why}: snapshot written to {p.resume_path} at iteration {it}; exiting", flush=True)
                raise SystemExit(SIGTERM_EXIT)
            d_loss, g_loss, stats = train_step(p, it)
            if (it + 1) % p.spec["log_every"] == 0 or it + 1 == total:
                p.log_rows.append(_log_row(p, it, d_loss, g_loss, stats, time.perf_counter() - t0))
            if (it + 1) % p.spec["snapshot_every"] == 0 and it + 1 < total:
                p.save_resume(it + 1)
            progress.update(it + 1, p.log_rows[-1] if p.log_rows else {})


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
    real_data_statistics(p.D, p.data.x, p.spec["extract_batch"], p.device)
    final = p.snapshot(p.spec["iters_per_phase"])
    final["provenance"] = {
        "spec": p.spec,
        "model_in": {"path": str(model_in), "sha256": p.inputs["model_in"]},
        "labels": {"path": str(labels_path), "sha256": p.inputs["labels"]},
        "relabelgan": __version__,
        "torch": str(torch.__version__),
        "device": str(p.device),
    }
    save_checkpoint(model_out, final)
    _write_log(log_path, p.log_rows)
    p.G.eval()
    save_sample_figure(
        p.G,
        p.data,
        p.fake_weights.to(torch.float64),
        p.spec["z_dim"],
        samples_path,
        seed=derive_seed(p.spec["seed"], "samples", p.rnd),
        device=p.device,
    )
    if round_outputs:
        write_round_outputs(p.spec, p.rnd, model_out, labels_path, round_outputs, p.data)
    p.resume_path.unlink(missing_ok=True)


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
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys, restval=np.nan)
            writer.writeheader()
            writer.writerows(rows)
