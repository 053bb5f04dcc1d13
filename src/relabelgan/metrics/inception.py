"""FID and Inception Score by the papers' protocol, through torch-fidelity, with cached reference statistics.

Protocol (the metric names say it: ``fid{n}_train``, ``is{n}_10splits``):
- features: torch-fidelity's ``inception-v3-compat``, its port of the TF-Slim 2015-12-05 Inception
  that the original FID and IS code use, images resized to 299 px by its TF1-compatible bilinear
  resize (torch-fidelity's default, as in every paper that reports FID on CIFAR-10);
- FID: the Fréchet distance between the pool3 (2048-d) statistics of ``n`` generated images and of
  the whole training set; ``n`` defaults to the training set's size (50,000 for CIFAR-10 train);
- IS: the unbiased logits of the same ``n`` generated images, 10 splits.

The training set's statistics are computed once per dataset by their own job (rule
``reference_stats``, ``relabelgan reference-stats``) into a file whose name states the protocol,
``reference_stats/{dataset}/train_inception-v3-compat_pool3.npz``, and read by every evaluation.
The Inception weights are read from the path torch-fidelity's own download uses (torch's hub
cache); nothing is downloaded at run time: a missing file is an error that gives the one command
that fetches it on a machine with internet. torch is imported by the functions that use it: the
workflow reads the file name from here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import DatasetError

if TYPE_CHECKING:
    import torch

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_NAME}"
EXTRACTOR = "inception-v3-compat"
FID_LAYER, IS_LAYER = "2048", "logits_unbiased"
IS_SPLITS = 10
REFERENCE_STATS_NAME = f"train_{EXTRACTOR}_pool3.npz"


def weights_path() -> Path:
    """Where torch-fidelity's own download would have put the Inception weights (torch hub cache)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME


def fetch_command(path: Path) -> str:
    return f"curl -L --create-dirs -o {path} {WEIGHTS_URL}"


def require_weights() -> Path:
    """The weights file, checked to hold only tensors; a clear error naming the fix otherwise."""
    path = weights_path()
    if not path.exists():
        raise DatasetError(
            f"{path}: Inception weights not found (FID/IS, `fid: true`); on a machine with internet run "
            f"`{fetch_command(path)}` and copy the file here, or set fid: false"
        )
    import torch

    # torch-fidelity loads the file with weights_only=False; prove first that it holds only tensors.
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DatasetError(
            f"{path}: does not load with weights_only=True ({type(e).__name__}); replace it with the file "
            f"`{fetch_command(path)}` fetches"
        ) from e
    return path


def _uint8_images(x: torch.Tensor) -> torch.utils.data.Dataset:
    """NCHW images in [-1, 1] as the dataset of 3-channel uint8 tensors torch-fidelity reads."""
    import torch

    x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    class Images(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(x)

        def __getitem__(self, i: int) -> torch.Tensor:
            return x[i].contiguous()

    return Images()


def inception_features(images: torch.Tensor, cuda: bool, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """pool3 features and unbiased logits of ``images`` (NCHW in [-1, 1]), by torch-fidelity's Inception."""
    from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

    extractor = create_feature_extractor(
        EXTRACTOR, [FID_LAYER, IS_LAYER], cuda=cuda, feature_extractor_weights_path=str(require_weights())
    )
    return get_featuresdict_from_dataset(
        _uint8_images(images), extractor, batch_size, cuda, save_cpu_ram=True, verbose=False
    )


def reference_statistics(images: torch.Tensor, cuda: bool) -> dict[str, np.ndarray]:
    """The pool3 mean and covariance of a reference set (torch-fidelity's estimator)."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    return fid_features_to_statistics(inception_features(images, cuda)[FID_LAYER])


def write_reference_stats(path: str, stats: dict[str, np.ndarray], provenance: dict) -> None:
    """Write the statistics atomically, with what they were computed from."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(tmp, mu=stats["mu"], sigma=stats["sigma"], provenance=json.dumps(provenance, sort_keys=True))
    tmp.replace(out)


def read_reference_stats(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """(statistics, provenance) of a reference_stats file."""
    with np.load(path, allow_pickle=False) as f:
        return {"mu": f["mu"], "sigma": f["sigma"]}, json.loads(str(f["provenance"]))


def fid_and_is(generated: torch.Tensor, reference: dict[str, np.ndarray], seed: int, cuda: bool) -> dict[str, float]:
    """``fid`` against the reference statistics and ``is`` / ``is_std`` (10 splits) of the generated images."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    features = inception_features(generated, cuda)
    fid = fid_statistics_to_metric(fid_features_to_statistics(features[FID_LAYER]), reference, verbose=False)
    isc = isc_features_to_metric(features[IS_LAYER], splits=IS_SPLITS, rng_seed=int(seed % 2**31))
    return {"fid": fid[KEY_METRIC_FID], "is": isc[KEY_METRIC_ISC_MEAN], "is_std": isc[KEY_METRIC_ISC_STD]}
