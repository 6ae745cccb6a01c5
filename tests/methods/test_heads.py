import pytest
import torch
from torch import nn

from rqbench.methods.heads import HeadConfig, mlp


def kinds(seq: nn.Sequential) -> list[str]:
    return [type(m).__name__ for m in seq]


def test_moco_resnet_projector_layout():
    head = mlp(2, 10, 32, 8, last_bn=True)
    assert kinds(head) == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d"]
    assert [(m.in_features, m.out_features) for m in head if isinstance(m, nn.Linear)] == [(10, 32), (32, 8)]
    assert all(m.bias is None for m in head if isinstance(m, nn.Linear))
    assert head[1].affine and not head[4].affine
    assert head[4].weight is None


def test_predictor_without_last_bn_and_vit_projector():
    assert kinds(mlp(2, 8, 32, 8, last_bn=False)) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    vit = mlp(3, 10, 32, 8)
    assert kinds(vit) == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear", "BatchNorm1d"]
    assert [(m.in_features, m.out_features) for m in vit if isinstance(m, nn.Linear)] == [(10, 32), (32, 32), (32, 8)]
    assert kinds(mlp(1, 5, 99, 3, last_bn=False)) == ["Linear"]


def test_byol_head_has_biases():
    head = HeadConfig(2, 32, 8, last_bn=False, bias=True).build(16)
    assert kinds(head) == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert all(m.bias is not None for m in head if isinstance(m, nn.Linear))


def test_last_bn_standardizes_outputs_in_train_mode():
    torch.manual_seed(0)
    head = mlp(2, 6, 16, 4, last_bn=True).train()
    y = head(torch.randn(32, 6) * 3 + 1)
    assert y.shape == (32, 4)
    torch.testing.assert_close(y.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(0, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


def test_hidden_layer_is_linear_bn_relu_math():
    torch.manual_seed(1)
    head = mlp(2, 3, 5, 2, last_bn=False).train()
    x = torch.randn(7, 3)
    h = x @ head[0].weight.T
    h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + head[1].eps) * head[1].weight + head[1].bias
    expected = torch.relu(h) @ head[3].weight.T
    torch.testing.assert_close(head(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bad", [dict(num_layers=0), dict(in_dim=0), dict(hidden_dim=-1), dict(out_dim=2.5)])
def test_mlp_rejects_bad_sizes(bad):
    args = dict(num_layers=2, in_dim=4, hidden_dim=8, out_dim=2) | bad
    with pytest.raises(ValueError):
        mlp(**args)
