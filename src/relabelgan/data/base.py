"""What every dataset loader shares: the in-memory :class:`Dataset` and the image conversion and checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import DatasetError  # defined torch-free so the CLI can catch it; raised here


@dataclass
class Dataset:
    """A training set held in memory."""

    name: str
    x: torch.Tensor  # (N, 2) points or (N, C, H, W) images in [-1, 1]
    y: torch.Tensor | None  # ground-truth classes, when the dataset has them
    n_classes: int
    means: torch.Tensor | None = None  # 2D mixtures: the Gaussian means
    std: float | None = None  # 2D mixtures: the per-axis standard deviation

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4

    def __len__(self) -> int:
        return len(self.x)


def require_path(path: Path, what: str, hint: str) -> None:
    if not path.exists():
        raise DatasetError(f"{what}: {path} not found. {hint} (datasets are never downloaded at run time)")


def images_to_tensor(images: np.ndarray, resolution: int | None) -> torch.Tensor:
    """uint8 NHWC or NCHW -> float NCHW in [-1, 1], resized (antialiased) when asked."""
    x = torch.from_numpy(images.astype(np.float32)).div_(127.5).sub_(1.0)  # astype copies: read-only buffers are fine
    if resolution is not None and x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(-1, 1)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` or a folder between ``root`` and it is hidden (``.DS_Store``, macOS's ``._*``)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def image_files(folder: Path, root: Path | None = None) -> list[Path]:
    """The images under ``folder`` at any depth, sorted, hidden ones (below ``root``, default ``folder``) left out."""
    root = root or folder
    return sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and not hidden(f, root))


def read_image(path: Path, mode: str, resolution: int) -> np.ndarray:
    """uint8 pixels of one image file, converted to PIL ``mode`` ('L' or 'RGB') and resized to
    resolution x resolution (HxW or HxWxC); an unreadable file is refused by name."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode).resize((resolution, resolution), Image.Resampling.BICUBIC))
    except (OSError, UnidentifiedImageError, SyntaxError) as e:  # PIL: truncated or not an image
        raise DatasetError(f"{path}: not a readable image ({e}); remove or replace it") from e


def check_labels(labels: np.ndarray, n_images: int, path: Path, what: str, fix: str, offset: int = 0) -> None:
    """Refuse a labels file that does not give one class in 0..9 per image (``offset``: how the file stores 0)."""
    if len(labels) != n_images:
        raise DatasetError(f"{what}: {path} holds {len(labels)} labels for {n_images} images; {fix}")
    bad = labels[(labels < 0) | (labels > 9)]
    if len(bad):
        raise DatasetError(
            f"{what}: {path} holds label {int(bad[0]) + offset} (not {offset}..{9 + offset}): "
            f"not the dataset's labels file; {fix}"
        )
