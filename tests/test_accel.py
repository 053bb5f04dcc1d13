"""The GPU path's choices (bf16 autocast, channels-last, data placement), checked without a GPU,
and, in the tests marked ``cuda`` (skipped without one; scripts/gpu_check.sh runs them), on a GPU."""

from __future__ import annotations

import math

import pytest
import torch

from relabelgan.networks import build_networks
from relabelgan.training.accel import (
    RESIDENT_FRACTION,
    AccelPlan,
    BatchSource,
    accel_plan,
    autocast,
    prepare_modules,
    to_layout,
)
from relabelgan.training.features import feature_blocks
from relabelgan.training.losses import WGANGPLoss

GiB = 2**30


def cuda_only(test):
    """Marked ``cuda`` and skipped on a machine without a CUDA GPU."""
    skip = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (scripts/gpu_check.sh)")
    return pytest.mark.cuda(skip(test))


def cifar_shaped_networks(n_classes: int = 2, conditioning: str = "ac"):
    arch = {
        "kind": "dcgan",
        "data_shape": [3, 32, 32],
        "z_dim": 16,
        "embed_dim": 8,
        "embed_norm": False,
        "width": 16,
        "n_classes": n_classes,
        "conditioning": conditioning,
    }
    torch.manual_seed(0)
    return build_networks(arch)


def test_cpu_plan_is_the_fp32_reference():
    plan = accel_plan("cpu", (3, 32, 32), 50000)
    assert plan == AccelPlan(torch.device("cpu"), None, False, True, False)


def test_cuda_plan_for_images_uses_bf16_channels_last_and_resident_data():
    plan = accel_plan("cuda", (3, 32, 32), 50000, bf16_supported=True, device_free_bytes=70 * GiB)
    assert plan.autocast_dtype is torch.bfloat16
    assert plan.channels_last and plan.data_on_device


def test_cuda_plan_for_2d_points_keeps_the_default_layout():
    plan = accel_plan("cuda", (2,), 10000, bf16_supported=True, device_free_bytes=70 * GiB)
    assert not plan.channels_last and plan.autocast_dtype is torch.bfloat16


def test_cuda_plan_keeps_a_large_set_in_pinned_host_memory():
    # 100k STL-10 images at 48x48 are 2.6 GiB: more than a quarter of 8 GiB free.
    plan = accel_plan("cuda", (3, 48, 48), 100000, bf16_supported=True, device_free_bytes=8 * GiB)
    assert not plan.data_on_device and plan.pin_memory


def test_fp32_precision_or_no_bf16_disables_autocast():
    assert (
        accel_plan("cuda", (3, 32, 32), 10, precision="fp32", bf16_supported=True, device_free_bytes=GiB).autocast_dtype
        is None
    )
    assert accel_plan("cuda", (3, 32, 32), 10, bf16_supported=False, device_free_bytes=GiB).autocast_dtype is None


def test_unknown_precision_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'fp16'"):
        accel_plan("cpu", (2,), 10, precision="fp16")


def test_autocast_runs_forward_passes_in_the_plan_dtype():
    layer = torch.nn.Linear(4, 3)
    bf16 = AccelPlan(torch.device("cpu"), torch.bfloat16, False, True, False)
    with autocast(bf16):
        assert layer(torch.randn(2, 4)).dtype is torch.bfloat16
    with autocast(accel_plan("cpu", (4,), 2)):
        assert layer(torch.randn(2, 4)).dtype is torch.float32


def test_host_batch_source_returns_the_requested_rows_in_channels_last_without_aliasing():
    x = torch.arange(6 * 2 * 3 * 3, dtype=torch.float32).reshape(6, 2, 3, 3)
    plan = AccelPlan(torch.device("cpu"), None, True, False, False)
    source = BatchSource(x, plan)
    batches = [source(torch.tensor(rows)) for rows in ([0, 5], [1, 2], [3, 3])]
    for rows, batch in zip(([0, 5], [1, 2], [3, 3]), batches, strict=False):
        assert torch.equal(batch, x[rows])  # earlier batches survive later ones (the buffers are reused)
        assert batch.is_contiguous(memory_format=torch.channels_last)


def test_features_under_channels_last_and_bf16_match_the_fp32_reference():
    arch = {
        "kind": "dcgan",
        "data_shape": [1, 8, 8],
        "z_dim": 4,
        "embed_dim": 4,
        "embed_norm": False,
        "width": 8,
        "n_classes": 3,
        "conditioning": "heads",
    }
    torch.manual_seed(0)
    _, D = build_networks(arch)
    x = torch.rand(10, 1, 8, 8) * 2 - 1
    reference = torch.cat([torch.from_numpy(b) for b in feature_blocks(D, x, 4, torch.device("cpu"))])
    fast = AccelPlan(torch.device("cpu"), torch.bfloat16, True, True, False)
    prepare_modules(fast, D)
    assert D.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    blocks = list(feature_blocks(D, x, 4, torch.device("cpu"), fast))
    assert [len(b) for b in blocks] == [4, 4, 2] and all(b.dtype.name == "float32" for b in blocks)
    got = torch.cat([torch.from_numpy(b) for b in blocks])
    assert torch.allclose(got, reference, atol=0.05, rtol=0.05)
    assert to_layout(x, fast).is_contiguous(memory_format=torch.channels_last)


@cuda_only
def test_cuda_plan_asks_the_device_for_bf16_and_free_memory():
    plan = accel_plan("cuda", (3, 32, 32), 50000)
    assert plan.autocast_dtype is (torch.bfloat16 if torch.cuda.is_bf16_supported() else None)
    assert plan.channels_last and plan.pin_memory
    assert plan.data_on_device == (RESIDENT_FRACTION * torch.cuda.mem_get_info()[0] >= 4 * 50000 * 3 * 32 * 32)


@cuda_only
@pytest.mark.parametrize("resident", [True, False], ids=["resident", "pinned"])
def test_cuda_batch_source_delivers_the_requested_rows_on_the_gpu(resident):
    x = torch.rand(50, 3, 8, 8)
    source = BatchSource(x, AccelPlan(torch.device("cuda"), torch.bfloat16, True, resident, not resident))
    rows = [torch.tensor([0, 49, 3]), torch.tensor([1, 2, 2]), torch.tensor([7, 8, 9])]
    batches = [source(r) for r in rows]  # pinned: the two buffers are reused while copies are in flight
    torch.cuda.synchronize()
    for r, batch in zip(rows, batches, strict=False):
        assert batch.device.type == "cuda" and batch.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(batch.cpu(), x[r])


@cuda_only
def test_cuda_bf16_channels_last_features_match_the_cpu_fp32_reference():
    _, D = cifar_shaped_networks()
    x = torch.rand(96, 3, 32, 32) * 2 - 1
    reference = torch.cat([torch.from_numpy(b) for b in feature_blocks(D, x, 32, torch.device("cpu"))])
    device = torch.device("cuda")
    plan = accel_plan(device, (3, 32, 32), len(x))
    D.to(device)
    prepare_modules(plan, D)
    got = torch.cat([torch.from_numpy(b) for b in feature_blocks(D, x, 32, device, plan)])
    assert got.shape == reference.shape and torch.isfinite(got).all()
    assert (got - reference).norm() / reference.norm() < 0.05


@cuda_only
def test_wgan_gp_penalty_and_critic_gradients_stay_finite_under_bf16_channels_last():
    G, D = cifar_shaped_networks()
    device = torch.device("cuda")
    plan = accel_plan(device, (3, 32, 32), 64)
    G.to(device), D.to(device)
    prepare_modules(plan, G, D)
    loss = WGANGPLoss(10.0, 1.0, 0.1)
    real = to_layout(torch.rand(64, 3, 32, 32, device=device) * 2 - 1, plan)
    y, z = torch.randint(2, (64,), device=device), torch.randn(64, 16, device=device)
    penalties = {}
    for name, p in (("fp32", AccelPlan(device, None, True, True, True)), ("bf16", plan)):
        torch.manual_seed(1)  # the same interpolates for both
        D.zero_grad(set_to_none=True)
        with autocast(p):
            d_loss, stats = loss.d_loss(G, D, real, y, z, y)
        d_loss.backward()
        penalties[name] = float(stats["d_gp"])
        assert all(torch.isfinite(q.grad).all() for q in D.parameters() if q.grad is not None), name
    assert all(math.isfinite(v) for v in penalties.values()), penalties
    assert penalties["bf16"] == pytest.approx(penalties["fp32"], rel=0.1, abs=1e-3)
