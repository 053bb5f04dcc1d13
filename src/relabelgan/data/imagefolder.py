"""``imagefolder``: one sub-folder of images per class under a local ``path``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.errors import DatasetError
from .base import Dataset, images_to_tensor, require_path


def load_imagefolder(name: str, spec: dict) -> Dataset:
    from PIL import Image

    root = Path(spec.get("path", ""))
    require_path(root, "imagefolder", "Point `path` at a folder with one sub-folder of images per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DatasetError(f"imagefolder: {root} has no class sub-folders")
    resolution = int(spec["resolution"])
    images, targets = [], []
    for c, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            if f.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
                continue
            img = Image.open(f).convert("RGB").resize((resolution, resolution), Image.Resampling.BICUBIC)
            images.append(np.asarray(img).transpose(2, 0, 1))
            targets.append(c)
    if not images:
        raise DatasetError(f"imagefolder: no images under {root}")
    x = images_to_tensor(np.stack(images), None)
    return Dataset(name, x, torch.tensor(targets), len(classes))
