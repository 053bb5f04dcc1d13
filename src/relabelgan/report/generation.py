"""`relabelgan generation`: what a model generates, shown as the AC-GAN paper shows it (its Figures 8-9),
for image runs:

- ``interpolation.png``: per class, G at z moving linearly from one draw to another (the class held);
- ``fixed_z.png``: per z, G across the classes (z held): the class alone changes the sample;
- ``nearest.png``: generated samples beside their nearest training images of the same class, by L1
  distance in pixels and by Euclidean distance in the features the run clusters (D's last hidden
  layer, the rows of the round's features.h5; slcgan: its network C's): a sample that copies a
  training image shows that image at distance ~0 (the memorisation check).

Classes are those of the labels the model was trained on, the largest first (as samples.png).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from ..core.artifacts import LabelRound, read_features
from ..core.seeding import derive_seed
from ..data import load_run_dataset
from ..methods import get_method
from ..networks import Generator
from ..training.checkpoint import load_all_networks, load_checkpoint
from ..training.samples import forward
from .plotting import pyplot, save_png

FIGURES = ("interpolation", "fixed_z", "nearest")
MAX_CLASSES = 10
STEPS = 8  # interpolation steps, both end points included
FIXED_Z = 8  # z draws of the fixed-z figure
NN_SAMPLES = 6  # generated samples of the nearest-neighbour figure
NN_K = 4  # neighbours shown per distance


def interpolation(G: Generator, classes: list[int], z_dim: int, steps: int, seed: int) -> tuple[torch.Tensor, ...]:
    """(images (classes, steps, C, H, W), z_a, z_b): per class, G(z_a + t (z_b - z_a), class) at
    ``steps`` evenly spaced t from 0 to 1, each class with its own two draws."""
    gen = torch.Generator().manual_seed(seed)
    z_a, z_b = torch.randn(len(classes), z_dim, generator=gen), torch.randn(len(classes), z_dim, generator=gen)
    t = torch.linspace(0, 1, steps)[None, :, None]
    z = z_a[:, None] * (1 - t) + z_b[:, None] * t
    y = torch.tensor(classes).repeat_interleave(steps)
    x = forward(G, z.reshape(-1, z_dim), y)
    return x.reshape(len(classes), steps, *x.shape[1:]), z_a, z_b


def fixed_z(G: Generator, classes: list[int], z_dim: int, n_z: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n_z, classes, C, H, W), z): row i is G(z_i, c) for every class c."""
    z = torch.randn(n_z, z_dim, generator=torch.Generator().manual_seed(seed))
    y = torch.tensor(classes).repeat(n_z)
    x = forward(G, z.repeat_interleave(len(classes), dim=0), y)
    return x.reshape(n_z, len(classes), *x.shape[1:]), z


def nearest(
    samples: torch.Tensor,
    sample_features: np.ndarray,
    sample_classes: np.ndarray,
    real: torch.Tensor,
    real_features: np.ndarray,
    real_classes: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(by pixels, by features): for each sample, the indices into ``real`` of its ``k`` nearest
    training images of its own class, by L1 distance in pixels and by Euclidean distance in features."""
    flat_real, flat_samples = real.flatten(1).numpy(), samples.flatten(1).numpy()
    by_pixels, by_features = [], []
    for i, c in enumerate(sample_classes):
        members = np.flatnonzero(real_classes == c)
        l1 = np.abs(flat_real[members] - flat_samples[i]).sum(1)
        l2 = np.linalg.norm(real_features[members] - sample_features[i], axis=1)
        by_pixels.append(members[np.argsort(l1, kind="stable")[:k]])
        by_features.append(members[np.argsort(l2, kind="stable")[:k]])
    return np.stack(by_pixels), np.stack(by_features)


@dataclass
class Model:
    """A trained round's generator, feature network and training data, with the labels it trained on."""

    G: Generator
    feature_net: Any  # a module with features(x): D, slcgan's C, or the raw pixels (pixelkmeans)
    layer: str
    z_dim: int
    data_x: torch.Tensor  # training images, in the labels' sample order
    classes: np.ndarray  # the trained labels of those images
    features: np.ndarray  # their rows of the round's features.h5
    shown: list[int]  # the classes the figures show, largest first


def load_model(spec: dict, model: str, labels: LabelRound, features_path: str) -> Model:
    """The model at ``model`` with its training images in ``labels``' order, their classes and features."""
    state = load_checkpoint(model)
    networks = load_all_networks(state, get_method(spec["method"]), "cpu")
    feature_net, layer = get_method(spec["method"]).feature_network(networks)
    feature_net.eval()
    data = load_run_dataset(spec)
    features, sample_index, _ = read_features(features_path)
    by_sample = dict(zip(sample_index.tolist(), range(len(sample_index)), strict=True))
    rows = np.array([by_sample[int(s)] for s in labels.sample_index])
    G = cast(Generator, networks["G"])
    n_classes = max(int(G.n_classes), 1)
    shown = [int(c) for c in np.argsort(-labels.sizes, kind="stable")[:MAX_CLASSES] if labels.sizes[c] > 0]
    shown = [c for c in shown if c < n_classes] or [0]
    return Model(
        G,
        feature_net,
        layer,
        int(state["arch"]["z_dim"]),
        data.x[labels.sample_index],
        labels.labels,
        features[rows],
        shown,
    )


def generation_figures(spec: dict, model: str, labels: LabelRound, features_path: str, out_dir: str) -> None:
    """The three figures of the model at ``model`` (trained on ``labels``) in ``out_dir``."""
    m = load_model(spec, model, labels, features_path)
    out = Path(out_dir)
    what = f"{spec['name']}, seed {spec['seed']}, {Path(model).parent.name}"
    images, _, _ = interpolation(m.G, m.shown, m.z_dim, STEPS, derive_seed(spec["seed"], "figure-interpolation"))
    _grid(
        images,
        [f"class {c}" for c in m.shown],
        f"{what}: z interpolated at a fixed class (left to right)",
        out / "interpolation.png",
    )
    images, _ = fixed_z(m.G, m.shown, m.z_dim, FIXED_Z, derive_seed(spec["seed"], "figure-fixed-z"))
    _grid(
        images.transpose(0, 1),
        [f"class {c}" for c in m.shown],
        f"{what}: one z per column across classes",
        out / "fixed_z.png",
    )
    _nearest_figure(m, spec, what, out / "nearest.png")


def _nearest_figure(m: Model, spec: dict, what: str, out: Path) -> None:
    classes = np.array([m.shown[i % len(m.shown)] for i in range(NN_SAMPLES)])
    gen = torch.Generator().manual_seed(derive_seed(spec["seed"], "figure-nearest"))
    samples = forward(m.G, torch.randn(NN_SAMPLES, m.z_dim, generator=gen), torch.as_tensor(classes))
    with torch.no_grad():
        sample_features = m.feature_net.features(samples).flatten(1).float().numpy()
    by_pixels, by_features = nearest(samples, sample_features, classes, m.data_x, m.features, m.classes, NN_K)
    rows = [
        torch.cat([samples[i : i + 1], m.data_x[by_pixels[i]], m.data_x[by_features[i]]]) for i in range(NN_SAMPLES)
    ]
    labels = [f"class {c}" for c in classes]
    title = (
        f"{what}: generated (left), its {NN_K} nearest training images of its class by L1 in pixels, "
        f"then by Euclidean distance in the run's features ({m.layer})"
    )
    _grid(torch.stack(rows), labels, title, out, column_breaks=(1, 1 + NN_K))


def _grid(
    images: torch.Tensor, row_labels: list[str], title: str, out: Path, column_breaks: tuple[int, ...] = ()
) -> None:
    """Rows x columns of images (rows, cols, C, H, W) in [-1, 1], one labelled row each; a red line
    before each column in ``column_breaks`` (the nearest figure: sample | by pixels | by features)."""
    plt = pyplot()
    img = ((images.clamp(-1, 1) + 1) / 2).numpy()
    rows, cols, c, h, w = img.shape
    grid = img.transpose(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    fig, ax = plt.subplots(figsize=(cols * 0.7 + 1.2, rows * 0.7 + 0.8))
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    for col in column_breaks:
        ax.axvline(col * w - 0.5, color="red", linewidth=1.5)
    ax.set_yticks(np.arange(rows) * h + h / 2, row_labels, fontsize=7)
    ax.set_xticks([])
    ax.set_title(title, fontsize=8, wrap=True)
    save_png(fig, out)
