"""Mixed precision for pretraining: autocast and, for float16, a gradient scaler."""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch.amp.grad_scaler import GradScaler


def amp_context(
    amp: bool | None, device: torch.device
) -> tuple[contextlib.AbstractContextManager[Any], GradScaler | None]:
    """Autocast and grad scaler: ``amp=None`` means on for CUDA, off on CPU; bf16 where the device
    supports it, else float16 with a :class:`~torch.amp.GradScaler`."""
    enabled = amp if amp is not None else device.type == "cuda"
    if not enabled:
        return contextlib.nullcontext(), None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.float16), GradScaler("cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16), None


__all__ = ["amp_context"]
