"""``imagefolder``: one sub-folder of images per class under a local ``path``.

As torchvision's ImageFolder reads it: a class is a sub-folder of ``path`` and holds its images at
any depth. Hidden files and folders (``.DS_Store``, macOS's ``._*`` resource forks) are skipped;
an image outside every class folder, a class folder without images, an unreadable image and a
dataset of fewer than two images are refused with the path and what to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.errors import DatasetError
from .base import IMAGE_SUFFIXES, Dataset, hidden, image_files, images_to_tensor, read_image, require_path


def class_files(root: Path) -> dict[str, list[Path]]:
    """Each class folder's images, by class name (sorted); refused as the module docstring says."""
    loose = [f for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not hidden(f, root)]
    if loose:
        raise DatasetError(
            f"imagefolder: {loose[0]} is outside every class folder ({len(loose)} such image(s) in {root}); "
            "move it into a sub-folder named after its class"
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not hidden(p, root))
    if not folders:
        raise DatasetError(f"imagefolder: {root} has no class sub-folders; put each class's images in one")
    files = {folder.name: image_files(folder, root) for folder in folders}
    empty = [name for name, found in files.items() if not found]
    if empty:
        raise DatasetError(
            f"imagefolder: class folder {root / empty[0]} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
            "add some or remove the folder"
        )
    total = sum(map(len, files.values()))
    if total < 2:
        raise DatasetError(f"imagefolder: {root} holds {total} image; a GAN needs at least 2 (and k-means k)")
    return files


def load_imagefolder(name: str, spec: dict) -> Dataset:
    root = Path(spec.get("path", ""))
    require_path(root, "imagefolder", "Point `path` at a folder with one sub-folder of images per class")
    files = class_files(root)
    resolution = int(spec["resolution"])
    images = [read_image(f, "RGB", resolution).transpose(2, 0, 1) for found in files.values() for f in found]
    targets = [c for c, found in enumerate(files.values()) for _ in found]
    skipped = sum(1 for f in root.rglob("*") if f.is_file() and hidden(f, root))
    # On stdout, in the job's log: stderr stays the one line of an error.
    print(
        f"imagefolder {root}: {len(images)} images in {len(files)} classes"
        + (f" (skipped {skipped} hidden files)" if skipped else "")
    )
    x = images_to_tensor(np.stack(images), None)
    return Dataset(name, x, torch.tensor(targets), len(files))
