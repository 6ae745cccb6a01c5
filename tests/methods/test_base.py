"""The shared Method machinery: symmetric forward, no-grad keys, EMA update, parameters."""

import pytest
import torch
from torch import nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.methods.base import Method, frozen_copy
from rqbench.methods.losses import byol_loss
from rqbench.methods.moco import MoCoV3

from .conftest import FEATURE_DIM, SMALL_HEADS, tiny_backbone


def test_frozen_copy_has_same_weights_and_no_grad():
    net = tiny_backbone()
    twin = frozen_copy(net)
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b) and a is not b
        assert a.requires_grad and not b.requires_grad


def test_forward_is_the_symmetric_sum_with_the_right_pairing(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, temperature=0.5, **SMALL_HEADS).eval()
    x1, x2 = views
    m1 = MixInfo(torch.tensor([1, 0, 3, 2, 5, 4, 7, 6]), torch.linspace(0.5, 1.0, 8))
    m2 = MixInfo(torch.arange(8).flip(0), torch.linspace(1.0, 0.6, 8))
    got = model(Views((x1, x2), (x2, x1), (m1, m2)))  # keys deliberately swapped
    with torch.no_grad():
        ka, kb = model.key(x2), model.key(x1)  # key views: keys[0] = x2, keys[1] = x1
    expected = model.pair_loss(model.query(x1), kb, m1) + model.pair_loss(model.query(x2), ka, m2)
    torch.testing.assert_close(got, expected)
    wrong = model.pair_loss(model.query(x1), ka, m1) + model.pair_loss(model.query(x2), kb, m2)
    assert not torch.allclose(got, wrong)


def test_keys_are_computed_without_grad(views):
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    seen = []
    model.momentum_projector.register_forward_hook(
        lambda mod, inp, out: seen.append((torch.is_grad_enabled(), out.requires_grad))
    )
    model(Views.of(*views))
    assert seen == [(False, False), (False, False)]


def test_trainable_parameters_exclude_the_momentum_branch():
    model = MoCoV3(tiny_backbone(), FEATURE_DIM, **SMALL_HEADS)
    trainable = {id(p) for p in model.trainable_parameters()}
    online = [*model.backbone.parameters(), *model.projector.parameters(), *model.predictor.parameters()]
    assert trainable == {id(p) for p in online}
    assert model.encoder is model.backbone


class Toy(Method):
    """A minimal subclass: identity heads, BYOL loss."""

    def __init__(self, backbone, feature_dim, momentum=0.5, fixed_momentum=False):
        super().__init__(backbone, feature_dim)
        self.momentum, self.fixed_momentum = momentum, fixed_momentum
        self.target = frozen_copy(backbone)

    def query(self, x):
        return self.backbone(x)

    def key(self, x):
        return self.target(x)

    def pair_loss(self, q, k, mix):
        return byol_loss(q, k, mix)

    def momentum_pairs(self):
        return [(self.backbone, self.target)]


def test_subclass_momentum_update_and_fixed_momentum():
    toy = Toy(nn.Linear(3, 2), 2)
    with torch.no_grad():
        toy.backbone.weight.add_(1.0)
    w_q, w_k = toy.backbone.weight.clone(), toy.target.weight.clone()
    m = toy.momentum_update(0, 10)
    assert m == pytest.approx(0.5)
    torch.testing.assert_close(toy.target.weight, 0.5 * w_k + 0.5 * w_q)
    assert toy.momentum_update(10, 10) == 1.0
    fixed = Toy(nn.Linear(3, 2), 2, momentum=0.9, fixed_momentum=True)
    assert fixed.momentum_update(0, 10) == fixed.momentum_update(10, 10) == 0.9


def test_method_checks_its_arguments():
    with pytest.raises(TypeError):
        Toy(lambda x: x, 2)
    with pytest.raises(ValueError):
        Toy(nn.Linear(3, 2), 0)
    toy = Toy(nn.Linear(3, 2), 2)
    with pytest.raises(ValueError, match="Toy needs 2 views per step, got 1"):
        toy(Views.of(torch.ones(2, 3)))
