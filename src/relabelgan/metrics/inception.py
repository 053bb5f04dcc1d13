"""FID and Inception Score through torch-fidelity, with Inception weights from the local torch hub cache.

torch-fidelity's Inception is the reference port of the TF-Slim 2015-12-05 network used by the
original FID and IS code, so these numbers are the standard ones (``fid{n}_train``: n generated
samples against the whole training set; ``is{n}``: 10 splits). Nothing is downloaded: when the
weights file is not in the cache, the metrics are skipped with a message saying where to put it.
Images smaller than 299 px are upsampled by torch-fidelity, as in every paper that reports FID on
CIFAR-10; on 8x8 digits the numbers are computed but say little (docs/metrics.md).
"""

from __future__ import annotations

from pathlib import Path

import torch

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"


def weights_path() -> Path:
    """Where torch-fidelity's own download would have put the Inception weights (torch hub cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME


def missing_weights_message(path: Path) -> str:
    return (
        f"FID/IS skipped: Inception weights not found at {path}. Copy torch-fidelity's {WEIGHTS_NAME} there "
        "(torch's hub cache: $TORCH_HOME/hub/checkpoints, by default ~/.cache/torch/hub/checkpoints) to compute "
        "them; nothing is downloaded at run time."
    )


class _Uint8Images(torch.utils.data.Dataset):
    """NCHW images in [-1, 1] as the 3-channel uint8 tensors torch-fidelity reads."""

    def __init__(self, x: torch.Tensor) -> None:
        x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        self.x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i].contiguous()


def inception_metrics(
    generated: torch.Tensor, real: torch.Tensor, seed: int, cuda: bool
) -> tuple[dict[str, float], str]:
    """(metrics, message): ``fid`` (against ``real``) and ``is`` of ``generated``; empty with a reason when skipped."""
    path = weights_path()
    if not path.exists():
        return {}, missing_weights_message(path)
    # torch-fidelity loads the file with weights_only=False; prove first that it holds only tensors.
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        return {}, f"FID/IS skipped: {path} does not load with weights_only=True ({type(e).__name__}: {e}); replace it."
    import torch_fidelity

    result = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(generated),
        input2=_Uint8Images(real),
        fid=True,
        isc=True,
        cuda=cuda,
        feature_extractor_weights_path=str(path),
        cache=False,
        verbose=False,
        rng_seed=int(seed % 2**31),
    )
    metrics = {"fid": float(result["frechet_inception_distance"]), "is": float(result["inception_score_mean"])}
    return metrics, f"FID/IS computed with torch-fidelity's Inception ({path})"
