"""Mixed precision: off on CPU unless asked, bf16 autocast when asked."""

from __future__ import annotations

import contextlib

import torch

from rqbench.train.precision import amp_context


def test_off_by_default_on_cpu() -> None:
    autocast, scaler = amp_context(None, torch.device("cpu"))
    assert isinstance(autocast, contextlib.nullcontext) and scaler is None


def test_bf16_autocast_on_cpu_when_asked() -> None:
    autocast, scaler = amp_context(True, torch.device("cpu"))
    with autocast:
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16 and scaler is None
    assert isinstance(amp_context(False, torch.device("cpu"))[0], contextlib.nullcontext)
