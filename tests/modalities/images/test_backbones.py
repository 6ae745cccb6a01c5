"""Image backbones: feature shapes and dims for 1- and 3-channel inputs, the small ResNet's layout."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from modalities.images.backbones import BACKBONES, SmallResNet
from rqbench.registry import UnknownNameError

DIMS = {"resnet18": 512, "resnet50": 2048, "small-resnet": 128}


def test_registry_names() -> None:
    assert set(DIMS) <= set(BACKBONES.names())
    with pytest.raises(UnknownNameError, match="small-resnet"):
        BACKBONES.get("resnet19")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(DIMS))
def test_features_have_the_right_shape(name: str, channels: int) -> None:
    torch.manual_seed(0)
    net, dim = BACKBONES.get(name)(channels)
    assert dim == DIMS[name]
    x = torch.rand(3, channels, 32, 32)
    out = net(x)
    assert out.shape == (3, dim) and bool(torch.isfinite(out).all())
    net.eval()
    with torch.no_grad():
        assert net(x[:1]).shape == (1, dim)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_torchvision_resnets_are_adapted(name: str) -> None:
    net, _ = BACKBONES.get(name)(1)
    assert net.conv1.in_channels == 1 and net.conv1.kernel_size == (7, 7)
    assert isinstance(net.fc, nn.Identity)
    small, dim = BACKBONES.get(name)(3, cifar_stem=True)
    assert small.conv1.kernel_size == (3, 3) and small.conv1.stride == (1, 1) and isinstance(small.maxpool, nn.Identity)
    assert small(torch.rand(2, 3, 28, 28)).shape == (2, dim)


def test_small_resnet_layout_is_configurable() -> None:
    net, dim = BACKBONES.get("small-resnet")(3, widths=(8, 16, 24), blocks=(2, 1, 1))
    assert dim == 24 and isinstance(net, SmallResNet)
    assert sum(isinstance(m, BasicBlock) for m in net.modules()) == 4
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    assert net.stem[0].kernel_size == (3, 3) and net.stem[0].stride == (1, 1)
    # Spatial size 28 -> 28 -> 14 -> 7 before the global pool.
    assert net.stages(net.stem(torch.rand(2, 3, 28, 28))).shape == (2, 24, 7, 7)
    assert net(torch.rand(2, 3, 28, 28)).shape == (2, 24)


def test_small_resnet_trains() -> None:
    torch.manual_seed(0)
    net, _ = BACKBONES.get("small-resnet")(1, widths=(8, 16), blocks=(1, 1))
    net(torch.rand(4, 1, 28, 28)).pow(2).mean().backward()
    assert all(p.grad is not None and bool(torch.isfinite(p.grad).all()) for p in net.parameters())


def test_zero_init_residual_starts_blocks_as_identity() -> None:
    net, _ = BACKBONES.get("small-resnet")(1, zero_init_residual=True)
    assert all(float(m.bn2.weight.detach().abs().sum()) == 0 for m in net.modules() if isinstance(m, BasicBlock))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="in_channels"):
        BACKBONES.get("small-resnet")(0)
    with pytest.raises(ValueError, match="equal length"):
        BACKBONES.get("small-resnet")(1, widths=(8, 16), blocks=(1,))
    with pytest.raises(ValueError, match="in_channels"):
        BACKBONES.get("resnet18")(-1)
