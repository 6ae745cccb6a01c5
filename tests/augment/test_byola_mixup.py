"""BYOL-A log-mel mixup: the formula, FIFO semantics, explicit state."""

from __future__ import annotations

import math

import pytest
import torch

from rqbench.augment import BYOLAMixup


def test_first_input_passes_through_then_mixes_with_memory_known_answer() -> None:
    aug = BYOLAMixup(ratio=0.4, n_memory=4, generator=torch.Generator().manual_seed(0))
    z = torch.full((1, 1, 2, 3), 0.5)
    out0 = aug(z)
    assert torch.equal(out0, z)  # empty memory: unchanged
    x = torch.full((1, 1, 2, 3), -1.0)
    out1 = aug(x)
    # Replay the draws of the second call: the first call drew (u, a) too.
    gen = torch.Generator().manual_seed(0)
    torch.rand(1, generator=gen), torch.rand(1, generator=gen)
    torch.rand(1, generator=gen)  # u (choice of z: only one candidate)
    a = 0.4 * float(torch.rand(1, generator=gen))
    expected = math.log((1 - a) * math.exp(-1.0) + a * math.exp(0.5) + torch.finfo(torch.float32).eps)
    torch.testing.assert_close(out1, torch.full_like(x, expected))


def test_batch_follows_sequential_fifo_semantics() -> None:
    n = 3
    aug = BYOLAMixup(ratio=1.0, n_memory=n, log_mixup_exp=False, generator=torch.Generator().manual_seed(1))
    x = torch.arange(5, dtype=torch.float32).view(5, 1)  # sample i has value i
    out = aug(x)
    assert out[0].item() == 0.0  # nothing before it
    gen = torch.Generator().manual_seed(1)
    u, a = torch.rand(5, generator=gen), torch.rand(5, generator=gen)
    for i in range(1, 5):
        available = min(i, n)
        pick = i - available + min(int(u[i] * available), available - 1)
        assert pick < i and pick >= i - n  # only the n inputs seen just before
        torch.testing.assert_close(out[i].item(), (1 - a[i].item()) * i + a[i].item() * pick)
    assert aug.memory is not None and aug.memory.flatten().tolist() == [2.0, 3.0, 4.0]


def test_memory_is_saved_and_restored_with_state_dict() -> None:
    aug = BYOLAMixup(n_memory=8)
    aug(torch.randn(5, 1, 4, 4))
    fresh = BYOLAMixup(n_memory=8)
    fresh.load_state_dict(aug.state_dict())
    assert fresh.memory is not None and torch.equal(fresh.memory, aug.memory)


def test_errors() -> None:
    aug = BYOLAMixup()
    aug(torch.randn(2, 1, 4, 4))
    with pytest.raises(ValueError, match="same sample shape"):
        aug(torch.randn(2, 1, 4, 5))
    with pytest.raises(ValueError, match="n_memory must be an int >= 1"):
        BYOLAMixup(n_memory=0)
    with pytest.raises(ValueError, match=r"ratio must lie in \[0, 1\]"):
        BYOLAMixup(ratio=2.0)


def test_silent_input_is_finite() -> None:
    # log-mel of silence is very negative; exp underflows to 0 but eps keeps log finite.
    out = BYOLAMixup()(torch.full((3, 1, 4, 4), -200.0))
    assert bool(torch.isfinite(out).all())
