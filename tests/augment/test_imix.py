"""i-Mix and e-Mix: mixed inputs, the MixInfo they hand the loss, and gradient detaching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rqbench.augment import EMix, IMix, MixInfo


def replay(n: int, seed: int, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    s = int(torch.randint(0, 2**62, (), generator=gen))
    lam = torch.as_tensor(np.random.default_rng(s).beta(alpha, alpha, size=(n,)), dtype=torch.float32)
    return torch.maximum(lam, 1 - lam), torch.randperm(n, generator=gen)


def test_imix_known_answer() -> None:
    x = torch.randn(8, 4)
    mixed, info = IMix(alpha=1.0, generator=torch.Generator().manual_seed(9))(x)
    lam, perm = replay(8, 9, 1.0)
    assert torch.equal(info.partner, perm)
    torch.testing.assert_close(info.weight, lam)
    torch.testing.assert_close(mixed, lam[:, None] * x + (1 - lam[:, None]) * x[perm])
    assert bool((info.weight >= 0.5).all()) and bool((info.weight <= 1).all())


def test_emix_detaches_partner_imix_does_not() -> None:
    x = torch.randn(6, 3, requires_grad=True)
    mixed, info = EMix(generator=torch.Generator().manual_seed(2))(x)
    mixed.sum().backward()
    # d mixed_i / d x_i = lam_i only; the partner path is cut.
    torch.testing.assert_close(x.grad, info.weight[:, None].expand(6, 3))
    x.grad = None
    mixed, info = IMix(generator=torch.Generator().manual_seed(2))(x)
    mixed.sum().backward()
    expected = info.weight.clone()
    expected.index_add_(0, info.partner, 1 - info.weight)
    torch.testing.assert_close(x.grad, expected[:, None].expand(6, 3))


def test_mixinfo_validation_and_offset() -> None:
    info = MixInfo(torch.tensor([1, 0]), torch.tensor([0.7, 0.6]))
    assert info.offset(4).partner.tolist() == [5, 4]
    with pytest.raises(ValueError, match="MixInfo needs 1-D"):
        MixInfo(torch.tensor([1, 0]), torch.tensor([0.7]))


def test_imix_needs_a_batch() -> None:
    with pytest.raises(ValueError, match="must be a batch"):
        IMix()(torch.randn(3))
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        IMix(alpha=-1)
