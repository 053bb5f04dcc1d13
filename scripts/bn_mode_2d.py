"""Final-round 2D metrics with G sampled in eval mode (running BN stats) vs train mode (batch-of-100 stats).

    python scripts/bn_mode_2d.py results/paper-2d

Used for docs/results.md ("Over-sharp samples"); the rounds' metrics.csv use eval mode.
"""

import sys

import torch
import yaml

from relabelgan.data import load_run_dataset
from relabelgan.metrics.mixtures import mixture_metrics, spread_ratio, subsampled_mmd2
from relabelgan.training.checkpoint import load_checkpoint, load_networks
from relabelgan.training.samples import class_weights

for run in ("ring-selfcond", "grid-selfcond"):
    for s in (0, 1, 2):
        d = f"{sys.argv[1]}/{run}/seed{s}"
        with open(f"{d}/run.yaml") as f:
            spec = yaml.safe_load(f)
        data = load_run_dataset(spec)
        st = load_checkpoint(f"{d}/round_04/model.pt")
        G, _ = load_networks(st, "cpu")
        g = torch.Generator().manual_seed(0)
        y = torch.multinomial(class_weights(st), 50000, replacement=True, generator=g)
        z = torch.randn(50000, st["arch"]["z_dim"], generator=g)
        for mode in ("eval", "train"):
            G.train(mode == "train")
            with torch.no_grad():
                x = torch.cat([G(z[i : i + 100], y[i : i + 100]) for i in range(0, 50000, 100)]).double()
            m = mixture_metrics(x, data.means, data.std)
            xn, real, mu = x.numpy(), data.x.double().numpy(), data.means.double().numpy()
            print(
                run,
                s,
                mode,
                f"modes {m['modes']:.0f} hq_box {m['hq_box_pct']:.2f} rkl {m['reverse_kl']:.5f} "
                f"spread {spread_ratio(xn, real, mu, data.std):.3f} mmd2 {subsampled_mmd2(xn, real, data.std, 2000, 0):.5f}",
            )
