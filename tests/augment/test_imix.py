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


def test_emix_batch_mean_reproduces_the_published_dabs_loss() -> None:
    """``emix(batch_mean=true)``: inputs mixed per sample as by default, the loss as DABS's emix.py
    (``mix_coeff`` shaped (B, 1, 1) times a (B,) cross-entropy, then the mean over (B, 1, B))."""
    import torch.nn.functional as F

    from rqbench.augment.spec import build_augmentation, parse_spec
    from rqbench.methods.losses import mixed_infonce_loss

    x = torch.randn(6, 5, 4)
    default_mixed, default_info = EMix(generator=torch.Generator().manual_seed(4))(x)
    term = parse_spec("emix(batch_mean=true)").terms[0]
    aug = build_augmentation(term, generator=torch.Generator().manual_seed(4))
    assert isinstance(aug, EMix) and aug.batch_mean and not EMix().batch_mean
    mixed, info = aug(x)
    assert torch.equal(mixed, default_mixed) and torch.equal(info.partner, default_info.partner)
    lam = default_info.weight
    torch.testing.assert_close(info.weight, lam.mean().expand(6))
    q, k, t = torch.randn(6, 8), torch.randn(6, 8), 0.2
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / t
    ce_own = F.cross_entropy(logits, torch.arange(6), reduction="none")
    ce_partner = F.cross_entropy(logits, info.partner, reduction="none")
    coeff = lam.view(-1, 1, 1)
    published = (coeff * ce_own + (1 - coeff) * ce_partner).mean()  # broadcasts to (6, 1, 6)
    torch.testing.assert_close(mixed_infonce_loss(q, k, t, info), published)
    per_sample = (lam * ce_own + (1 - lam) * ce_partner).mean()
    torch.testing.assert_close(mixed_infonce_loss(q, k, t, default_info), per_sample)
    assert not torch.allclose(published, per_sample)
