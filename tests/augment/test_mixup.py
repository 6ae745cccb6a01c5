"""DACL Mixup-noise and Mixup-as-augmentation: the formula on a fixed seed, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rqbench.augment import DACL, Mixup


def test_dacl_known_answer() -> None:
    x = torch.arange(12, dtype=torch.float32).view(4, 3)
    out = DACL(alpha=0.5, generator=torch.Generator().manual_seed(0))(x)
    # Replay the draws: lam = 0.5 + 0.5 U (n draws), then the partner permutation.
    gen = torch.Generator().manual_seed(0)
    lam = 0.5 + 0.5 * torch.rand(4, generator=gen)
    perm = torch.randperm(4, generator=gen)
    expected = torch.stack([lam[i] * x[i] + (1 - lam[i]) * x[perm[i]] for i in range(4)])
    torch.testing.assert_close(out, expected)
    assert bool((lam >= 0.5).all())


def test_mixup_known_answer_and_weight_at_least_half() -> None:
    x = torch.randn(6, 2, 5)
    out = Mixup(alpha=0.4, generator=torch.Generator().manual_seed(3))(x)
    gen = torch.Generator().manual_seed(3)
    seed = int(torch.randint(0, 2**62, (), generator=gen))
    lam = torch.as_tensor(np.random.default_rng(seed).beta(0.4, 0.4, size=(6,)), dtype=torch.float32)
    lam = torch.maximum(lam, 1 - lam)
    perm = torch.randperm(6, generator=gen)
    expected = lam.view(-1, 1, 1) * x + (1 - lam.view(-1, 1, 1)) * x[perm]
    torch.testing.assert_close(out, expected)


def test_dacl_alpha_one_is_identity() -> None:
    x = torch.randn(5, 3)
    torch.testing.assert_close(DACL(alpha=1.0)(x), x)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"dacl alpha must lie in \[0, 1\]"):
        DACL(alpha=1.5)
    with pytest.raises(ValueError, match="mixup alpha must be a finite number > 0"):
        Mixup(alpha=0)
    with pytest.raises(ValueError, match="must be a batch"):
        DACL()(torch.randn(5))
    with pytest.raises(TypeError, match="floating-point"):
        DACL()(torch.ones(4, 3, dtype=torch.long))
