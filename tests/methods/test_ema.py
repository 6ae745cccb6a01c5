"""The in-place EMA update against its formula."""

import pytest
import torch
from torch import nn

from rqbench.methods.ema import ema_update


def test_ema_update_is_exact_convex_combination():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    target[1].running_mean.fill_(5.0)
    with torch.no_grad():
        for p in online.parameters():
            p.copy_(torch.randn_like(p))
        for p in target.parameters():
            p.copy_(torch.randn_like(p))
    before_t = [p.detach().clone() for p in target.parameters()]
    before_o = [p.detach().clone() for p in online.parameters()]
    m = 0.7
    ema_update(target, online, m)
    for p, pk, pq in zip(target.parameters(), before_t, before_o):
        torch.testing.assert_close(p, m * pk + (1 - m) * pq, rtol=0, atol=1e-14)
    for p, pq in zip(online.parameters(), before_o):
        assert torch.equal(p, pq)  # online untouched
    assert torch.equal(target[1].running_mean, torch.full((4,), 5.0, dtype=torch.float64))  # buffers untouched


def test_ema_update_extremes_and_mismatch():
    a, b = [torch.tensor([1.0, 2.0])], [torch.tensor([3.0, 5.0])]
    ema_update(a, b, 1.0)
    assert torch.equal(a[0], torch.tensor([1.0, 2.0]))
    ema_update(a, b, 0.0)
    assert torch.equal(a[0], torch.tensor([3.0, 5.0]))
    with pytest.raises(ValueError):
        ema_update([torch.zeros(2)], [torch.zeros(3)], 0.5)
    with pytest.raises(ValueError):
        ema_update([torch.zeros(2)], [], 0.5)
