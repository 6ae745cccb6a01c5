import math

import pytest
import torch
from torch import nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.methods import METHODS, MoCoV3
from rqbench.methods.losses import moco_contrastive_loss

from ._method_checks import check_gradients_flow_only_online, check_momentum_update_formula
from .conftest import FEATURE_DIM, SMALL_HEADS, tiny_backbone


def kinds(seq):
    return [type(m).__name__ for m in seq]


def test_registered_with_summary():
    assert METHODS.get("moco") is MoCoV3
    assert "MoCo v3" in next(e.summary for e in METHODS.entries() if e.name == "moco")


def test_default_heads_are_the_resnet_recipe():
    model = MoCoV3(nn.Identity(), 2048)
    assert kinds(model.projector) == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d"]
    assert (model.projector[0].in_features, model.projector[0].out_features, model.projector[3].out_features) == (
        2048,
        4096,
        256,
    )
    assert kinds(model.predictor) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert (model.predictor[0].in_features, model.predictor[3].out_features) == (256, 256)
    assert model.temperature == 1.0 and model.momentum == 0.99


def test_vit_preset():
    model = MoCoV3.from_preset("vit", nn.Identity(), 384, proj_hidden=64, pred_hidden=64, proj_dim=16)
    assert kinds(model.projector) == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear", "BatchNorm1d"]
    assert kinds(model.predictor)[-1] == "BatchNorm1d" and not model.predictor[-1].affine
    assert model.temperature == 0.2
    with pytest.raises(ValueError):
        MoCoV3.from_preset("convnext", nn.Identity(), 8)


def test_momentum_encoder_starts_as_copy(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    for a, b in zip(
        [*model.backbone.parameters(), *model.projector.parameters()],
        [*model.momentum_backbone.parameters(), *model.momentum_projector.parameters()],
    ):
        assert torch.equal(a, b)


def test_loss_is_the_symmetric_moco_loss(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, temperature=0.2, **SMALL_HEADS)
    x1, x2 = views
    loss = model(Views.of(x1, x2))
    q1, q2 = model.query(x1), model.query(x2)
    with torch.no_grad():
        k1, k2 = (
            model.momentum_projector(model.momentum_backbone(x1)),
            model.momentum_projector(model.momentum_backbone(x2)),
        )
    expected = moco_contrastive_loss(q1, k2, 0.2) + moco_contrastive_loss(q2, k1, 0.2)
    torch.testing.assert_close(loss, expected)
    # logits lie in [-1/T, 1/T], so each direction's CE <= log(N) + 2/T; times 2T, two directions
    assert 0 < loss.item() < 2 * (2 * 0.2 * (math.log(8) + 2 / 0.2))


def test_forward_backward_gradients_only_online(views):
    check_gradients_flow_only_online(MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS), views)


def test_imix_with_unit_lambda_equals_plain(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    mix = MixInfo(torch.randperm(8), torch.ones(8))
    torch.testing.assert_close(model(Views(views, views, (mix, mix))), model(Views.of(*views)), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("step", "total"), [(0, 100), (50, 100), (100, 100), (13, 40)])
def test_momentum_update_follows_cosine_schedule(step, total):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, momentum=0.9, **SMALL_HEADS)
    expected = 1 - (1 + math.cos(math.pi * step / total)) * (1 - 0.9) / 2
    check_momentum_update_formula(model, step, total, pytest.approx(expected, abs=1e-12))


def test_training_step_keeps_loss_finite(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    for step in range(3):
        loss = model(Views.of(*views))
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update(step, 3)
        assert math.isfinite(loss.item())


def test_bad_hyperparameters():
    with pytest.raises(ValueError):
        MoCoV3(nn.Identity(), 4, temperature=0.0)
    with pytest.raises(ValueError):
        MoCoV3(nn.Identity(), 4, momentum=1.5)
    with pytest.raises(TypeError):
        MoCoV3(nn.Identity(), 4, temprature=0.2)
