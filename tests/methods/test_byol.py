import math

import pytest
import torch
from torch import nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.methods import BYOL, METHODS
from rqbench.methods.losses import byol_loss

from ._method_checks import check_gradients_flow_only_online, check_momentum_update_formula
from .conftest import FEATURE_DIM, SMALL_HEADS, tiny_backbone


def kinds(seq):
    return [type(m).__name__ for m in seq]


def test_registered_with_summary():
    assert METHODS.get("byol") is BYOL
    assert "BYOL" in next(e.summary for e in METHODS.entries() if e.name == "byol")


def test_default_heads():
    model = BYOL(nn.Identity(), 2048)
    for head, d_in in ((model.projector, 2048), (model.predictor, 256)):
        assert kinds(head) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
        assert (head[0].in_features, head[0].out_features, head[3].out_features) == (d_in, 4096, 256)
        assert head[0].bias is not None and head[3].bias is not None
    assert model.momentum == 0.99 and not model.fixed_momentum


def test_loss_is_the_symmetric_byol_loss(views):
    model = BYOL(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    x1, x2 = views
    loss = model(Views.of(x1, x2))
    p1, p2 = model.query(x1), model.query(x2)
    with torch.no_grad():
        z1, z2 = model.target_projector(model.target_backbone(x1)), model.target_projector(model.target_backbone(x2))
    torch.testing.assert_close(loss, byol_loss(p1, z2) + byol_loss(p2, z1))
    assert 0 <= loss.item() <= 8


def test_forward_backward_gradients_only_online(views):
    check_gradients_flow_only_online(BYOL(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS), views)


def test_imix_with_unit_lambda_equals_plain(views):
    model = BYOL(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    mix = MixInfo(torch.randperm(8), torch.ones(8))
    torch.testing.assert_close(model(Views(views, views, (mix, None))), model(Views.of(*views)), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("step", "total"), [(0, 100), (50, 100), (100, 100), (7, 30)])
def test_target_decay_follows_cosine_schedule(step, total):
    model = BYOL(tiny_backbone(), FEATURE_DIM, momentum=0.95, **SMALL_HEADS)
    expected = 1 - (1 - 0.95) * (math.cos(math.pi * step / total) + 1) / 2
    check_momentum_update_formula(model, step, total, pytest.approx(expected, abs=1e-12))


@pytest.mark.parametrize("step", [0, 50, 100])
def test_fixed_momentum_as_byol_a(step):
    model = BYOL(tiny_backbone(), FEATURE_DIM, fixed_momentum=True, **SMALL_HEADS)
    check_momentum_update_formula(model, step, 100, 0.99)


def test_training_step_keeps_loss_finite(views):
    model = BYOL(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    for step in range(3):
        loss = model(Views.of(*views))
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update(step, 3)
        assert math.isfinite(loss.item())
