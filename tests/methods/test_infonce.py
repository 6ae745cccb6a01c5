"""DABS e-Mix's objective (``infonce``) and the input-embedding split of the Method base."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.embedding import EmbeddedBackbone
from rqbench.methods import METHODS, InfoNCE, MoCoV3, mixed_infonce_loss


def test_loss_known_answer_without_mix() -> None:
    # q = e0, e1; k = e0, e1 (orthonormal): logits = [[1, 0], [0, 1]] / T
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    t = 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert torch.isclose(mixed_infonce_loss(q, k, t), torch.tensor(expected))


def test_loss_known_answer_with_mix() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    mix = MixInfo(torch.tensor([1, 0]), torch.tensor([0.75, 1.0]))
    own = -math.log(math.exp(1) / (math.exp(1) + 1))  # T = 1
    other = -math.log(1 / (math.exp(1) + 1))
    expected = (0.75 * own + 0.25 * other + own) / 2
    assert torch.isclose(mixed_infonce_loss(q, k, 1.0, mix), torch.tensor(expected))


def test_loss_keeps_key_gradient() -> None:
    q = torch.randn(4, 3, requires_grad=True)
    k = torch.randn(4, 3, requires_grad=True)
    mixed_infonce_loss(q, k, 0.2).backward()
    assert k.grad is not None and k.grad.abs().sum() > 0


def test_method_registered_and_symmetric_mean() -> None:
    assert METHODS.get("infonce") is InfoNCE
    torch.manual_seed(0)
    model = InfoNCE(nn.Linear(6, 5), 5, temperature=0.2, proj_dim=4).eval()
    x1, x2 = torch.randn(8, 6), torch.randn(8, 6)
    loss = model(Views.of(x1, x2))
    z1, z2 = model.query(x1), model.query(x2)
    expected = 0.5 * (mixed_infonce_loss(z1, z2, 0.2) + mixed_infonce_loss(z2, z1, 0.2))
    assert torch.isclose(loss, expected)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.momentum_pairs() == [] and model.momentum is None and model.momentum_update(0, 10) is None


class _Embed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Embedding(10, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table(x).mean(1)


def test_embedded_backbone_is_split_by_the_method() -> None:
    torch.manual_seed(0)
    emb, enc = _Embed(), nn.Linear(4, 3)
    model = MoCoV3(EmbeddedBackbone(emb, enc), 3, proj_hidden=8, proj_dim=4, pred_hidden=8)
    assert model.input_embedding is emb and model.backbone is enc
    ids = torch.randint(0, 10, (5, 7))
    assert torch.equal(model.embed(ids), emb(ids))
    assert torch.allclose(model.encoder(ids), enc(emb(ids)))
    # the momentum branch copies the encoder only; the embedding is shared
    assert not any(p is q for p in model.momentum_backbone.parameters() for q in emb.parameters())
    assert "table.weight" not in dict(model.momentum_backbone.named_parameters())


def test_plain_backbone_is_unchanged() -> None:
    model = MoCoV3(nn.Linear(4, 3), 3, proj_hidden=8, proj_dim=4, pred_hidden=8)
    x = torch.randn(2, 4)
    assert model.input_embedding is None and model.encoder is model.backbone and model.embed(x) is x
    assert not any(k.startswith("input_embedding") for k in model.state_dict())


def test_wrong_number_of_views_is_refused() -> None:
    method = InfoNCE(nn.Linear(4, 8), 8)
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="InfoNCE needs 2 views per step, got 1"):
        method(Views.of(x))
    with pytest.raises(ValueError, match="MoCoV3 needs 2 views per step, got 3"):
        MoCoV3(nn.Linear(4, 8), 8)(Views.of(x, x, x))
    with pytest.raises(ValueError, match="as many queries, keys and mix entries"):
        Views((x, x), (x, x), (None,))
