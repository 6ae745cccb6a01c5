"""Checks shared by the MoCo v3 and BYOL tests."""

from __future__ import annotations

import math

import torch

from rqbench.augment.views import Views
from rqbench.methods.base import Method


def online_modules(model: Method) -> dict[str, torch.nn.Module]:
    return {"backbone": model.backbone, "projector": model.projector, "predictor": model.predictor}


def check_gradients_flow_only_online(model: Method, views) -> None:
    model.train()
    loss = model(Views.of(*views))
    assert loss.ndim == 0 and math.isfinite(loss.item())
    loss.backward()
    for name, module in online_modules(model).items():
        for pname, p in module.named_parameters():
            assert p.requires_grad, f"{name}.{pname}"
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"
    online_ids = {id(p) for m in online_modules(model).values() for p in m.parameters()}
    frozen = [p for p in model.parameters() if id(p) not in online_ids]
    assert frozen, "no momentum / target parameters"
    for p in frozen:
        assert not p.requires_grad and p.grad is None


def check_momentum_update_formula(model: Method, step: int, total: int, expected_m: float) -> None:
    # One SGD step so online and momentum weights differ.
    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.5)
    g = torch.Generator().manual_seed(7)
    x1, x2 = torch.randn(8, 12, generator=g), torch.randn(8, 12, generator=g)
    model(Views.of(x1, x2)).backward()
    opt.step()
    pairs = model.momentum_pairs()
    before = [([p.clone() for p in o.parameters()], [p.clone() for p in t.parameters()]) for o, t in pairs]
    assert any(not torch.equal(a, b) for q, k in before for a, b in zip(q, k))
    m = model.momentum_update(step, total)
    assert m == expected_m
    for (online, target), (q_old, k_old) in zip(pairs, before):
        for p_k, p_q, k0, q0 in zip(target.parameters(), online.parameters(), k_old, q_old):
            torch.testing.assert_close(p_k, m * k0 + (1 - m) * q0, rtol=0, atol=1e-6)
            assert torch.equal(p_q, q0)
