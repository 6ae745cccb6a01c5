"""Optimizers by name and LARS against its formula."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rqbench.preset import Preset
from rqbench.train.optim import LARS, build_optimizer


def test_lars_step_matches_formula() -> None:
    w = nn.Parameter(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
    b = nn.Parameter(torch.tensor([1.0]))
    opt = LARS([w, b], lr=0.5, weight_decay=0.1, momentum=0.9, trust_coefficient=0.01)
    w.grad, b.grad = torch.tensor([[0.0, 1.0]]), torch.tensor([2.0])
    opt.step()
    g = torch.tensor([[0.0, 1.0]]) + 0.1 * torch.tensor([[3.0, 4.0]])  # [0.3, 1.4]
    g = g * (0.01 * 5.0 / float(g.norm()))
    torch.testing.assert_close(w.data, torch.tensor([[3.0, 4.0]]) - 0.5 * g)
    torch.testing.assert_close(b.data, torch.tensor([1.0 - 0.5 * 2.0]))  # 1-D: no decay, no trust ratio
    w.grad, b.grad = torch.zeros(1, 2), torch.tensor([0.0])
    before = b.data.clone()
    opt.step()
    torch.testing.assert_close(b.data, before - 0.5 * 0.9 * 2.0)  # momentum carries on


@pytest.mark.parametrize(
    ("name", "kind"),
    [("sgd", torch.optim.SGD), ("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam), ("lars", LARS)],
)
def test_build_by_name_skips_frozen_parameters(name, kind) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].requires_grad_(False)
    opt = build_optimizer(model, Preset("t", epochs=1, batch_size=2, optimizer=name, weight_decay=0.01))
    assert isinstance(opt, kind) and sum(len(g["params"]) for g in opt.param_groups) == 2


def test_unknown_optimizer_and_no_parameters() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'"):
        build_optimizer(nn.Linear(2, 2), Preset("t", epochs=1, batch_size=2, optimizer="adamax"))
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(nn.Linear(2, 2).requires_grad_(False), Preset("t", epochs=1, batch_size=2))
