"""The GPU path's choices (bf16 autocast, channels-last, data placement), checked without a GPU."""

from __future__ import annotations

import pytest
import torch

from relabelgan.accel import AccelPlan, BatchSource, accel_plan, autocast, prepare_modules, to_layout
from relabelgan.extract import feature_blocks
from relabelgan.networks import build_networks

GiB = 2**30


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
    assert accel_plan("cuda", (3, 32, 32), 10, precision="fp32", bf16_supported=True, device_free_bytes=GiB).autocast_dtype is None
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
    for rows, batch in zip(([0, 5], [1, 2], [3, 3]), batches):
        assert torch.equal(batch, x[rows])  # earlier batches survive later ones (the buffers are reused)
        assert batch.is_contiguous(memory_format=torch.channels_last)


def test_features_under_channels_last_and_bf16_match_the_fp32_reference():
    arch = {"kind": "dcgan", "data_shape": [1, 8, 8], "z_dim": 4, "embed_dim": 4, "width": 8,
            "n_classes": 3, "conditioning": "heads"}
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
