"""Where a 2D selfcond run's classes sit: label drift between rounds and generator/label agreement.

    python scripts/diagnose_2d.py results/paper-2d/grid-selfcond/seed0

For every label round: mean cluster purity against the Gaussians (share of a cluster's members in its
majority Gaussian) and how many clusters changed Gaussian since the previous round. For the last
model: how many classes generate (500 samples each, G in eval mode) mostly in another Gaussian than
the one their real members sit in, under the labels the last phase trained on and under the last
labels. Used for docs/results.md ("Where we differ from the paper").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import yaml

from relabelgan.core.artifacts import LabelRound, read_labels
from relabelgan.data import load_run_dataset
from relabelgan.training.checkpoint import load_checkpoint, load_networks
from relabelgan.training.samples import forward


def majority_gaussian(modes: np.ndarray, labels: LabelRound, n_modes: int) -> np.ndarray:
    """Per class, the Gaussian most of its members sit in (-1 for an empty class)."""
    return np.array(
        [
            np.bincount(modes[labels.labels == c], minlength=n_modes).argmax() if (labels.labels == c).any() else -1
            for c in range(labels.k)
        ]
    )


def label_drift(run_dir: Path, rounds: int, real_mode: np.ndarray, n_modes: int) -> None:
    previous = None
    for r in range(rounds + 1):
        labels = read_labels(run_dir / f"round_{r:02d}/labels.h5")
        modes = real_mode[labels.sample_index]
        major = majority_gaussian(modes, labels, n_modes)
        purity = np.mean([(modes[labels.labels == c] == major[c]).mean() for c in range(labels.k) if major[c] >= 0])
        line = f"labels round {r}: mean purity {purity:.3f}"
        if previous is not None:
            moved = int(((major != previous) & (major >= 0) & (previous >= 0)).sum())
            line += f", clusters that changed Gaussian {moved}/{labels.k}"
        print(line)
        previous = major


def generator_agreement(run_dir: Path, spec: dict, data, real_mode: np.ndarray, rnd: int) -> None:
    G, _ = load_networks(load_checkpoint(run_dir / f"round_{rnd:02d}/model.pt"), "cpu")
    means = data.means.double()
    gen = torch.Generator().manual_seed(0)
    for labels_round in (rnd - 1, rnd):
        labels = read_labels(run_dir / f"round_{labels_round:02d}/labels.h5")
        major = majority_gaussian(real_mode[labels.sample_index], labels, len(means))
        wrong, share = 0, 0.0
        for c in np.flatnonzero(major >= 0):
            x = forward(G, torch.randn(500, spec["z_dim"], generator=gen), torch.full((500,), int(c)))
            generated = np.bincount(torch.cdist(x.double(), means).argmin(1).numpy(), minlength=len(means)).argmax()
            if generated != major[c]:
                wrong += 1
                share += float((labels.labels == c).mean())
        print(
            f"model round {rnd} vs labels round {labels_round}: classes generating in another Gaussian than their "
            f"members {wrong}/{labels.k} ({100 * share:.1f} % of the data)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="results/CONFIG/RUN/seedN of a 2D selfcond run")
    run_dir = parser.parse_args().run_dir
    spec = yaml.safe_load((run_dir / "run.yaml").read_text())
    data = load_run_dataset(spec)
    real_mode = torch.cdist(data.x.double(), data.means.double()).argmin(1).numpy()
    label_drift(run_dir, spec["rounds"], real_mode, len(data.means))
    generator_agreement(run_dir, spec, data, real_mode, spec["rounds"])


if __name__ == "__main__":
    main()
