"""Datasets: the embedded geometry, local-path loaders on real files made here, and their errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from relabelgan.core.errors import DatasetError
from relabelgan.data import load_dataset
from relabelgan.networks import build_networks, network_arch


def test_grid_means_and_spread_match_the_paper():
    d = load_dataset({"kind": "grid", "n": 20000, "side": 5, "spacing": 2.0, "std": 0.05})
    expected = {(2 * i - 4, 2 * j - 4) for i in range(5) for j in range(5)}
    assert {tuple(int(v) for v in m) for m in d.means.round()} == expected
    resid = d.x - d.means[d.y]
    assert abs(resid.std().item() - 0.05) < 0.002
    assert d.n_classes == 25


def test_ring_means_lie_on_the_circle():
    d = load_dataset({"kind": "ring", "n": 1000, "modes": 8, "radius": 1.5, "std": 0.01})
    torch.testing.assert_close(d.means.norm(dim=1), torch.full((8,), 1.5))
    assert torch.equal(load_dataset({"kind": "ring", "n": 1000}).x, load_dataset({"kind": "ring", "n": 1000}).x)
    assert not torch.equal(
        load_dataset({"kind": "ring", "n": 1000, "seed": 1}).x, load_dataset({"kind": "ring", "n": 1000}).x
    )


def test_digits_are_real_images_in_range():
    d = load_dataset({"kind": "digits"})
    assert d.x.shape == (1797, 1, 8, 8)
    assert d.x.min() >= -1 and d.x.max() <= 1
    assert d.n_classes == 10 and set(d.y.tolist()) == set(range(10))


def test_digits_read_from_the_bundled_csv_equal_scikit_learns_loader():
    from sklearn.datasets import load_digits

    reference = load_digits()
    d = load_dataset({"kind": "digits"})
    assert torch.equal(d.x, torch.from_numpy(reference.images.astype(np.float32) / 8.0 - 1.0).unsqueeze(1))
    assert torch.equal(d.y, torch.from_numpy(reference.target.astype(np.int64)))


def test_cifar10_binary_files(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        rows = np.concatenate([rng.integers(0, 10, (4, 1)), rng.integers(0, 256, (4, 3072))], 1).astype(np.uint8)
        rows.tofile(tmp_path / f"data_batch_{i}.bin")
    d = load_dataset({"kind": "cifar10", "path": str(tmp_path)})
    assert d.x.shape == (20, 3, 32, 32)
    first = np.fromfile(tmp_path / "data_batch_1.bin", dtype=np.uint8)[:3073]
    assert d.y[0] == first[0]
    np.testing.assert_allclose(d.x[0, 0, 0, 0].item(), first[1] / 127.5 - 1, atol=1e-6)


def test_cifar10_missing_batch_names_the_file(tmp_path):
    np.zeros(3073, np.uint8).tofile(tmp_path / "data_batch_1.bin")
    with pytest.raises(DatasetError, match="data_batch_2.bin not found"):
        load_dataset({"kind": "cifar10", "path": str(tmp_path)})


def test_cifar10_files_of_random_bytes_are_refused(tmp_path):
    """Right sizes, wrong content: class bytes beyond 0..9 mean the files are not CIFAR-10."""
    for i in range(1, 6):
        np.random.default_rng(i).integers(0, 256, 4 * 3073).astype(np.uint8).tofile(tmp_path / f"data_batch_{i}.bin")
    with pytest.raises(DatasetError, match=r"data_batch_1\.bin holds a record with class byte \d+ \(not 0\.\.9\)"):
        load_dataset({"kind": "cifar10", "path": str(tmp_path)})


def _random_bytes(path, n: int, seed: int) -> None:
    np.random.default_rng(seed).integers(0, 256, n).astype(np.uint8).tofile(path)


def test_stl10_files_of_random_bytes_are_refused(tmp_path):
    """Right sizes, wrong content: a label byte beyond 1..10 means train_y.bin is not STL-10's."""
    _random_bytes(tmp_path / "train_X.bin", 4 * 3 * 96 * 96, 0)
    _random_bytes(tmp_path / "train_y.bin", 4, 1)
    with pytest.raises(DatasetError, match=r"train_y\.bin holds label \d+ \(not 1\.\.10\).*re-extract stl10"):
        load_dataset({"kind": "stl10", "path": str(tmp_path)})
    np.array([1, 2, 3], np.uint8).tofile(tmp_path / "train_y.bin")  # valid labels, one short
    with pytest.raises(DatasetError, match=r"train_y\.bin holds 3 labels for 4 images"):
        load_dataset({"kind": "stl10", "path": str(tmp_path)})


def _idx(path, magic: int, array: np.ndarray) -> None:
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes())


def test_mnist_files_of_random_bytes_are_refused(tmp_path):
    """Random bytes of idx sizes fail the magic number; a valid header with bad contents is named too."""
    images, labels = tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte"
    _random_bytes(images, 16 + 4 * 28 * 28, 0)
    _random_bytes(labels, 8 + 4, 1)
    spec = {"kind": "mnist", "path": str(tmp_path)}
    with pytest.raises(
        DatasetError, match=r"train-images-idx3-ubyte starts with magic number 0x\w+, expected 0x00000803"
    ):
        load_dataset(spec)
    digits = np.random.default_rng(2).integers(0, 256, (4, 28, 28))
    _idx(images, 0x803, digits)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte starts with .* expected 0x00000801"):
        load_dataset(spec)
    _idx(labels, 0x801, np.array([3, 200, 1, 0]))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte holds label 200 \(not 0\.\.9\)"):
        load_dataset(spec)
    _idx(labels, 0x801, np.array([3, 2, 1]))
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte holds 3 labels for 4 images"):
        load_dataset(spec)
    images.write_bytes(images.read_bytes()[:-100])  # a truncated download
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte has \d+ bytes, but its header .* truncated"):
        load_dataset(spec)
    _idx(images, 0x803, digits)
    _idx(labels, 0x801, np.array([3, 2, 1, 0]))
    d = load_dataset(spec)
    assert d.y.tolist() == [3, 2, 1, 0] and d.x.shape[0] == 4


def test_stl10_is_resized_to_48(tmp_path):
    np.random.default_rng(0).integers(0, 256, 2 * 3 * 96 * 96).astype(np.uint8).tofile(tmp_path / "train_X.bin")
    np.array([1, 10], np.uint8).tofile(tmp_path / "train_y.bin")
    d = load_dataset({"kind": "stl10", "path": str(tmp_path)})
    assert d.x.shape == (2, 3, 48, 48)
    assert d.y.tolist() == [0, 9]


def test_stl10_unlabeled_subset_has_no_labels_and_keeps_the_orientation(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (3, 3, 96, 96)).astype(np.uint8)
    images.tofile(tmp_path / "unlabeled_X.bin")  # stored column-major, as the release does
    d = load_dataset({"kind": "stl10", "path": str(tmp_path), "subset": "unlabeled", "resolution": 96})
    assert d.x.shape == (3, 3, 96, 96) and d.y is None and d.n_classes == 1
    np.testing.assert_allclose(d.x[2, 1, 5, 7].item(), images[2, 1, 7, 5] / 127.5 - 1, atol=1e-6)
    with pytest.raises(DatasetError, match="train_X.bin not found"):
        load_dataset({"kind": "stl10", "path": str(tmp_path)})


def test_imagefolder(tmp_path):
    for c, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 20), colour).save(tmp_path / c / f"{i}.png")
    d = load_dataset({"kind": "imagefolder", "path": str(tmp_path), "resolution": 16})
    assert d.x.shape == (6, 3, 16, 16) and d.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert d.x[0, 0].mean() > 0.9 and d.x[3, 2].mean() > 0.9


def _class_folders(root, per_class: int = 2) -> None:
    for c, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (20, 20), colour).save(root / c / f"{i}.png")


def test_imagefolder_reads_nested_images_skips_hidden_files_and_says_what_it_used(tmp_path, capsys):
    _class_folders(tmp_path)
    (tmp_path / "cats" / "more").mkdir()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(tmp_path / "cats" / "more" / "deep.png")
    (tmp_path / "dogs" / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")  # not an image
    (tmp_path / ".hidden").mkdir()
    d = load_dataset({"kind": "imagefolder", "path": str(tmp_path), "resolution": 16})
    assert d.y.tolist() == [0, 0, 0, 1, 1] and d.n_classes == 2
    assert f"imagefolder {tmp_path}: 5 images in 2 classes (skipped 1 hidden files)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: Image.new("RGB", (20, 20)).save(r / "loose.png"), "loose.png is outside every class folder"),
        (lambda r: (r / "birds").mkdir(), "class folder {root}/birds holds no images"),
        (lambda r: (r / "cats" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc"), "cats/1.png: not a readable image"),
    ],
    ids=["image-at-root", "empty-class", "truncated-png"],
)
def test_imagefolder_refuses_what_it_cannot_use_by_name(tmp_path, damage, message):
    _class_folders(tmp_path)
    damage(tmp_path)
    with pytest.raises(DatasetError, match=re.escape(message.format(root=tmp_path))):
        load_dataset({"kind": "imagefolder", "path": str(tmp_path), "resolution": 16})


def test_imagefolder_of_one_image_is_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (20, 20)).save(tmp_path / "cats" / "0.png")
    with pytest.raises(DatasetError, match="holds 1 image; a GAN needs at least 2"):
        load_dataset({"kind": "imagefolder", "path": str(tmp_path), "resolution": 16})


@pytest.mark.parametrize("kind", ["cifar10", "stl10", "mnist", "imagefolder"])
def test_missing_path_is_named(kind, tmp_path):
    with pytest.raises(DatasetError, match="never downloaded"):
        load_dataset({"kind": kind, "path": str(tmp_path / "absent")})


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8), (3, 32, 32), (3, 48, 48)])
def test_networks_fit_every_data_shape(shape):
    spec = {"arch": "auto", "z_dim": 8, "embed_dim": 4, "embed_norm": False, "width": 8, "d_norm": "auto"}
    G, D = build_networks(network_arch(spec, shape, n_classes=5, conditioning="heads"))
    y = torch.tensor([0, 4, 2])
    x = G(torch.randn(3, 8), y)
    assert x.shape == (3, *shape)
    out = D(x, y)
    assert out.adv.shape == (3,) and out.features.ndim == 2
