"""Loss values against hand computations (pure Python math, not the library)."""

import math

import pytest
import torch

from rqbench.augment.base import MixInfo
from rqbench.distributed import gather_keys
from rqbench.methods.losses import byol_loss, moco_contrastive_loss


def _normalize(rows):
    return [[v / math.sqrt(sum(u * u for u in r)) for v in r] for r in rows]


def _ce(row, label):
    """-log softmax(row)[label] with an explicit log-sum-exp."""
    top = max(row)
    return top + math.log(sum(math.exp(v - top) for v in row)) - row[label]


def _moco_reference(q, k, t, lam=None, partner=None):
    q, k = _normalize(q), _normalize(k)
    n = len(q)
    total = 0.0
    for i in range(n):
        logits = [sum(a * b for a, b in zip(q[i], k[j])) / t for j in range(n)]
        if lam is None:
            total += _ce(logits, i)
        else:
            total += lam[i] * _ce(logits, i) + (1 - lam[i]) * _ce(logits, partner[i])
    return total / n * 2 * t


Q = [[3.0, 4.0], [1.0, 0.0], [-2.0, 1.0]]
K = [[0.0, 2.0], [1.0, 1.0], [-1.0, -0.5]]


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_moco_identity_case_written_out():
    # q = k = I, T = 1: logits = I, each row's CE = log(1 + e^-1); loss = 2 * that.
    eye = torch.eye(2, dtype=torch.float64)
    expected = 2 * math.log(1 + math.exp(-1))
    assert moco_contrastive_loss(eye, eye, 1.0).item() == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.6265233750364456, abs=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 0.2])
def test_moco_loss_matches_explicit_log_sum_exp(temperature):
    got = moco_contrastive_loss(t(Q), t(K), temperature)
    assert got.item() == pytest.approx(_moco_reference(Q, K, temperature), abs=1e-12)


def test_moco_loss_is_scale_invariant_and_keys_are_constants():
    q = t(Q).requires_grad_(True)
    k = t(K).requires_grad_(True)
    loss = moco_contrastive_loss(q * 5.0, k * 0.1, 0.5)
    assert loss.item() == pytest.approx(_moco_reference(Q, K, 0.5), abs=1e-12)
    loss.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert k.grad is None  # stop-gradient on keys


def test_imix_moco_with_lam_one_equals_plain():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    mix = MixInfo(torch.randperm(6, generator=g), torch.ones(6))
    torch.testing.assert_close(
        moco_contrastive_loss(q, k, 0.2, mix), moco_contrastive_loss(q, k, 0.2), rtol=0, atol=1e-6
    )


def test_imix_moco_hand_case():
    # q = k = I, T = 1, lam = (0.7, 0.4), partner = (1, 0):
    # a = CE to own key = log(1 + e^-1), b = CE to the other key = log(1 + e).
    # row 0: 0.7 a + 0.3 b; row 1: 0.4 a + 0.6 b; loss = 2 * mean = 1.1 a + 0.9 b.
    eye = torch.eye(2, dtype=torch.float64)
    mix = MixInfo(torch.tensor([1, 0]), torch.tensor([0.7, 0.4], dtype=torch.float64))
    a, b = math.log(1 + math.exp(-1)), math.log(1 + math.e)
    assert moco_contrastive_loss(eye, eye, 1.0, mix).item() == pytest.approx(1.1 * a + 0.9 * b, abs=1e-12)


def test_imix_moco_general_case_and_lam_zero():
    lam, partner = [0.6, 0.9, 0.5], [2, 0, 1]
    mix = MixInfo(torch.tensor(partner), torch.tensor(lam, dtype=torch.float64))
    got = moco_contrastive_loss(t(Q), t(K), 0.3, mix)
    assert got.item() == pytest.approx(_moco_reference(Q, K, 0.3, lam, partner), abs=1e-12)
    # lam = 0: the partner's key is the only positive of each query.
    mix0 = MixInfo(torch.tensor(partner), torch.zeros(3, dtype=torch.float64))
    qn, kn = _normalize(Q), _normalize(K)
    rows = [[sum(a * b for a, b in zip(qn[i], kn[j])) / 0.3 for j in range(3)] for i in range(3)]
    expected = sum(_ce(rows[i], partner[i]) for i in range(3)) / 3 * 2 * 0.3
    assert moco_contrastive_loss(t(Q), t(K), 0.3, mix0).item() == pytest.approx(expected, abs=1e-12)


def test_moco_loss_rejects_bad_inputs():
    with pytest.raises(ValueError):
        moco_contrastive_loss(torch.ones(3, 2), torch.ones(2, 2), 1.0)
    with pytest.raises(ValueError):
        moco_contrastive_loss(torch.ones(2, 2), torch.ones(2, 2), 0.0)
    with pytest.raises(ValueError):
        moco_contrastive_loss(torch.ones(2, 2), torch.ones(2, 2), 1.0, MixInfo(torch.tensor([0, 1, 2]), torch.ones(3)))


def test_gather_keys_without_process_group_is_local():
    k = torch.randn(4, 3, requires_grad=True)
    k_all, rank = gather_keys(k)
    assert rank == 0
    assert torch.equal(k_all, k.detach()) and not k_all.requires_grad


def test_byol_loss_hand_vectors():
    # cos(p0, z0) = 1/sqrt(2), cos(p1, z1) = -1: loss = mean(2 - sqrt(2), 4) = (6 - sqrt(2)) / 2
    p = t([[1.0, 0.0], [0.0, 2.0]])
    z = t([[1.0, 1.0], [0.0, -3.0]])
    assert byol_loss(p, z).item() == pytest.approx((6 - math.sqrt(2)) / 2, abs=1e-12)
    assert byol_loss(z, z).item() == pytest.approx(0.0, abs=1e-12)


def test_byol_loss_equals_normalized_squared_distance_and_stops_target_gradient():
    g = torch.Generator().manual_seed(3)
    p = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    loss = byol_loss(p, z)
    pn, zn = p / p.norm(dim=1, keepdim=True), z / z.norm(dim=1, keepdim=True)
    torch.testing.assert_close(loss, ((pn - zn) ** 2).sum(1).mean().detach())
    loss.backward()
    assert p.grad is not None and z.grad is None


def test_imix_byol_hand_case():
    # p = I, z' = [[1, 0], [0.6, 0.8]] (unit rows): C = p z'^T = [[1, 0.6], [0, 0.8]].
    # lam = (0.75, 0.5), partner = (1, 0): target0 = 0.75*1 + 0.25*0.6 = 0.9, target1 = 0.5*0.8 + 0.5*0 = 0.4
    # loss = mean(2 - 1.8, 2 - 0.8) = 0.7
    p = t([[1.0, 0.0], [0.0, 1.0]])
    z = t([[2.0, 0.0], [0.6, 0.8]])
    mix = MixInfo(torch.tensor([1, 0]), torch.tensor([0.75, 0.5], dtype=torch.float64))
    assert byol_loss(p, z, mix).item() == pytest.approx(0.7, abs=1e-12)


def test_imix_byol_lam_one_equals_plain_and_general_case():
    g = torch.Generator().manual_seed(5)
    p, z = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)
    partner = torch.randperm(6, generator=g)
    torch.testing.assert_close(byol_loss(p, z, MixInfo(partner, torch.ones(6, dtype=torch.float64))), byol_loss(p, z))
    lam = torch.rand(6, generator=g, dtype=torch.float64)
    pn, zn = _normalize(p.tolist()), _normalize(z.tolist())
    expected = 0.0
    for i in range(6):
        c_own = sum(a * b for a, b in zip(pn[i], zn[i]))
        c_par = sum(a * b for a, b in zip(pn[i], zn[int(partner[i])]))
        expected += 2 - 2 * (lam[i].item() * c_own + (1 - lam[i].item()) * c_par)
    assert byol_loss(p, z, MixInfo(partner, lam)).item() == pytest.approx(expected / 6, abs=1e-12)
