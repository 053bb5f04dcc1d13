"""How a phase uses the hardware: bf16 autocast, channels-last, and where the training set lives.

Every choice is made once by :func:`accel_plan` from the device, the sample shape, the data
size and the run's ``precision``, so the CPU path (fp32, default memory format, data as
loaded) stays the bit-exact reference and the GPU path is a plain function of its inputs
that tests can check without a GPU. ``train`` and ``extract`` call the helpers below; they
never test for CUDA themselves.
"""

from __future__ import annotations

import contextlib
import math
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass

import torch
from torch import nn

PRECISIONS = ("auto", "fp32")
# A training set lives on the GPU when it takes at most this share of the free GPU memory;
# otherwise it stays in pinned host memory and each batch is copied over asynchronously.
RESIDENT_FRACTION = 0.25


@dataclass(frozen=True)
class AccelPlan:
    """What a phase does on its device (see :func:`accel_plan`)."""

    device: torch.device
    autocast_dtype: torch.dtype | None  # None: plain fp32
    channels_last: bool  # NHWC tensors for conv nets (faster cuDNN kernels, tensor cores)
    data_on_device: bool  # the whole training set is copied to the device once
    pin_memory: bool  # host-resident data is page-locked so batch copies run asynchronously


def accel_plan(
    device: torch.device | str,
    sample_shape: tuple[int, ...],
    n_samples: int,
    *,
    precision: str = "auto",
    bf16_supported: bool | None = None,
    device_free_bytes: int | None = None,
) -> AccelPlan:
    """Choose autocast, memory format and data placement for a phase.

    - CPU: fp32, default memory format, data where it is (the reference path).
    - CUDA: bf16 autocast when the GPU supports it and ``precision`` is 'auto' (bf16 keeps
      fp32's exponent range, so GAN losses need no gradient scaler); channels-last for image
      data (4-D samples, i.e. conv nets); the training set resident on the GPU when it takes at
      most ``RESIDENT_FRACTION`` of the free GPU memory, else pinned host memory.

    ``bf16_supported`` and ``device_free_bytes`` are queried from CUDA when not given; tests
    pass them to check the CUDA choices on a machine without a GPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is unknown; choose from {PRECISIONS}")
    device = torch.device(device)
    if device.type != "cuda":
        return AccelPlan(device, None, False, True, False)
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    if device_free_bytes is None:
        device_free_bytes = torch.cuda.mem_get_info(device)[0]
    data_bytes = 4 * n_samples * math.prod(sample_shape)  # datasets are float32
    return AccelPlan(
        device=device,
        autocast_dtype=torch.bfloat16 if precision == "auto" and bf16_supported else None,
        channels_last=len(sample_shape) == 3,
        data_on_device=data_bytes <= RESIDENT_FRACTION * device_free_bytes,
        pin_memory=True,
    )


def autocast(plan: AccelPlan) -> ContextManager:
    """Mixed-precision context for forward passes (a no-op in fp32)."""
    if plan.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=plan.device.type, dtype=plan.autocast_dtype)


def to_layout(x: torch.Tensor, plan: AccelPlan) -> torch.Tensor:
    """``x`` in the plan's memory format (image batches only; a no-op when already so)."""
    if plan.channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def prepare_modules(plan: AccelPlan, *modules: nn.Module) -> None:
    """Convert modules' 4-D weights to channels-last in place when the plan asks for it."""
    if plan.channels_last:
        for module in modules:
            module.to(memory_format=torch.channels_last)


class BatchSource:
    """Rows of the training set, delivered on the plan's device in the plan's layout.

    Resident data is indexed where it lives. Host data is gathered into one of two reusable
    (pinned, on CUDA) buffers and copied with ``non_blocking=True``; a buffer is refilled only
    after its previous copy has finished, so the gather of batch t+1 overlaps the copy of batch t.
    """

    def __init__(self, x: torch.Tensor, plan: AccelPlan) -> None:
        self.plan = plan
        if plan.data_on_device:
            self.x = to_layout(x.to(plan.device), plan)
        else:
            self.x = x.pin_memory() if plan.pin_memory else x
        self._buffers: list[torch.Tensor | None] = [None, None]
        self._copied: list[torch.cuda.Event | None] = [None, None]
        self._turn = 0

    def __len__(self) -> int:
        return len(self.x)

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        if self.plan.data_on_device:
            return to_layout(self.x[rows.to(self.x.device)], self.plan)
        rows = rows.cpu()
        slot, self._turn = self._turn, 1 - self._turn
        copied = self._copied[slot]
        if copied is not None:
            copied.synchronize()
        buf = self._buffers[slot]
        if buf is None or len(buf) != len(rows):
            buf = torch.empty((len(rows), *self.x.shape[1:]), dtype=self.x.dtype, pin_memory=self.plan.pin_memory)
            self._buffers[slot] = buf
        torch.index_select(self.x, 0, rows, out=buf)
        out = to_layout(buf.to(self.plan.device, non_blocking=self.plan.pin_memory, copy=True), self.plan)
        if self.plan.device.type == "cuda":
            event = torch.cuda.Event()
            event.record()
            self._copied[slot] = event
        return out
