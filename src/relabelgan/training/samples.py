"""Drawing samples from a generator and the per-round sample figure (samples.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.base import Dataset
from ..networks import Generator
from ..report.plotting import pyplot, save_png


def class_weights(state: dict) -> torch.Tensor:
    """Class frequencies the model was trained with (uniform for a model that has not trained yet)."""
    sizes = state.get("method_state", {}).get("class_sizes")
    if sizes is None:
        return torch.ones(state["arch"]["n_classes"], dtype=torch.float64)
    return torch.as_tensor(sizes, dtype=torch.float64)


@torch.no_grad()
def forward(
    G: Generator, z: torch.Tensor, y: torch.Tensor, device: torch.device | str = "cpu", batch: int = 10000
) -> torch.Tensor:
    """G(z, y) in eval mode (BatchNorm running statistics), batched, on the CPU; G's mode is restored."""
    was_training = G.training
    G.eval()
    out = [G(z[i : i + batch].to(device), y[i : i + batch].to(device)).float().cpu() for i in range(0, len(z), batch)]
    G.train(was_training)
    return torch.cat(out)


def generate(
    G: Generator,
    n: int,
    z_dim: int,
    weights: torch.Tensor,
    seed: int,
    device: torch.device | str = "cpu",
    batch: int = 10000,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples on the CPU and their classes, drawn in proportion to ``weights``, seeded."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.multinomial(weights.double(), n, replacement=True, generator=gen)
    z = torch.randn(n, z_dim, generator=gen)
    return forward(G, z, y, device, batch), y


def save_sample_figure(
    G: Generator,
    data: Dataset,
    weights: torch.Tensor,
    z_dim: int,
    path: str | Path,
    seed: int,
    device="cpu",
    which: str = "",
) -> None:
    """2D: generated points over the real data, coloured by class. Images: one row per class.
    ``which`` (e.g. "digits-selfcond, seed 0, round 2") heads the title, so a figure names its model."""
    head = f"{which}\n" if which else ""
    plt = pyplot()
    k = len(weights)
    if not data.is_image:
        x, y = generate(G, 2500, z_dim, weights, seed, device)
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(*data.x[:5000].T.numpy(), s=2, c="0.8", label="real")
        ax.scatter(*x.T.numpy(), s=2, c=y.numpy() % 20, cmap="tab20", label="generated")
        ax.set_aspect("equal")
        ax.set_title(f"{head}{data.name}: generated (colour = class, k={k}) over real (grey)")
        save_png(fig, path)
        return
    rows = min(k, 10)
    classes = torch.argsort(weights, descending=True)[:rows]
    per_row = 10
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(rows * per_row, z_dim, generator=gen)
    y = classes.repeat_interleave(per_row)
    x = forward(G, z, y, device)
    img = ((x.clamp(-1, 1) + 1) / 2).numpy()  # (n, C, H, W)
    c, h, w = img.shape[1:]
    grid = img.reshape(rows, per_row, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, per_row * w, c)
    fig, ax = plt.subplots(figsize=(per_row * 0.6 + 1, rows * 0.6 + 0.5))
    ax.imshow(grid.squeeze(-1) if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    ax.set_yticks(np.arange(rows) * h + h / 2, [str(int(c_)) for c_ in classes])
    ax.set_xticks([])
    ax.set_ylabel("class")
    ax.set_title(f"{head}{data.name}: samples per class (largest {rows} of {k})")
    save_png(fig, path)
