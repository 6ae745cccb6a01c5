"""Image backbones: ResNets (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016).

:data:`BACKBONES` maps a name to a factory ``(in_channels, **kwargs) -> (module, feature_dim)``;
the module maps images ``(B, in_channels, H, W)`` to features ``(B, feature_dim)``.

* ``resnet18`` / ``resnet50``: torchvision's ResNets (``weights=None``), the first
  convolution adapted to ``in_channels`` and ``fc`` replaced by the identity
  (512 / 2048 features). ResNet-50 is the paper's image backbone.
* ``small-resnet``: a CIFAR-style ResNet for 28-32 px inputs (3x3 stem, no max-pool,
  torchvision's ``BasicBlock`` stages, global average pooling), the quick preset's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn
from torchvision.models import resnet
from torchvision.models.resnet import BasicBlock, conv1x1, conv3x3

from rqbench.registry import Registry

__all__ = ["BACKBONES", "SmallResNet", "resnet18", "resnet50", "small_resnet"]

BackboneFactory = Callable[..., tuple[nn.Module, int]]

BACKBONES: Registry[BackboneFactory] = Registry("image backbone")


def _check_channels(in_channels: int) -> int:
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
    return in_channels


def _torchvision_resnet(
    build: Callable[..., resnet.ResNet], in_channels: int, cifar_stem: bool, **kwargs: Any
) -> tuple[nn.Module, int]:
    net = build(weights=None, **kwargs)
    feature_dim = net.fc.in_features
    if cifar_stem:  # 3x3 stride-1 stem without max-pool, for small inputs (He et al. 2016, section 4.2)
        net.conv1 = nn.Conv2d(_check_channels(in_channels), 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(_check_channels(in_channels), 64, kernel_size=7, stride=2, padding=3, bias=False)
    if cifar_stem or in_channels != 3:  # a rebuilt stem, initialized as torchvision's
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.fc = nn.Identity()
    return net, feature_dim


@BACKBONES.register("resnet18")
def resnet18(in_channels: int = 3, *, cifar_stem: bool = False, **kwargs: Any) -> tuple[nn.Module, int]:
    """ResNet-18 (He et al. 2016) from torchvision, untrained: 512-d features.

    Args:
        in_channels: image channels (the first convolution is rebuilt for them).
        cifar_stem: replace the 7x7/2 stem and max-pool by a 3x3/1 stem (small images).
        **kwargs: passed to ``torchvision.models.resnet18`` (e.g. ``zero_init_residual``).
    """
    return _torchvision_resnet(resnet.resnet18, _check_channels(in_channels), cifar_stem, **kwargs)


@BACKBONES.register("resnet50")
def resnet50(in_channels: int = 3, *, cifar_stem: bool = False, **kwargs: Any) -> tuple[nn.Module, int]:
    """ResNet-50 (He et al. 2016) from torchvision, untrained: 2048-d features (the paper's backbone).

    Args:
        in_channels: image channels (the first convolution is rebuilt for them).
        cifar_stem: replace the 7x7/2 stem and max-pool by a 3x3/1 stem (small images).
        **kwargs: passed to ``torchvision.models.resnet50`` (e.g. ``zero_init_residual``).
    """
    return _torchvision_resnet(resnet.resnet50, _check_channels(in_channels), cifar_stem, **kwargs)


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet (He et al. 2016, section 4.2) for 28-32 px images.

    3x3 convolution stem (stride 1, no max-pool), then one stage of torchvision
    ``BasicBlock`` s per width (the first stage at full resolution, each later one
    halving it), then global average pooling: features ``(B, widths[-1])``.

    Args:
        in_channels: image channels.
        widths: channels of each stage.
        blocks: number of ``BasicBlock`` s in each stage (same length as ``widths``).
        zero_init_residual: start each block's last BN at zero (each block an identity).
    """

    def __init__(
        self,
        in_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128),
        blocks: Sequence[int] = (1, 1, 1),
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        widths, blocks = tuple(widths), tuple(blocks)
        if not widths or len(widths) != len(blocks):
            raise ValueError(f"widths and blocks must be non-empty and of equal length, got {widths} and {blocks}")
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in widths + blocks):
            raise ValueError(f"widths and blocks must be positive ints, got {widths} and {blocks}")
        self.feature_dim = widths[-1]
        self.stem = nn.Sequential(
            conv3x3(_check_channels(in_channels), widths[0]),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = []
        inplanes = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            layers: list[nn.Module] = []
            for j in range(count):
                s = stride if j == 0 else 1
                down = None
                if s != 1 or inplanes != width:
                    down = nn.Sequential(conv1x1(inplanes, width, s), nn.BatchNorm2d(width))
                layers.append(BasicBlock(inplanes, width, s, down))
                inplanes = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        for m in self.modules():  # as torchvision's ResNet
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Features ``(B, feature_dim)`` of images ``(B, in_channels, H, W)``."""
        return self.pool(self.stages(self.stem(x))).flatten(1)


@BACKBONES.register("small-resnet")
def small_resnet(
    in_channels: int = 1,
    *,
    widths: Sequence[int] = (32, 64, 128),
    blocks: Sequence[int] = (1, 1, 1),
    zero_init_residual: bool = False,
) -> tuple[nn.Module, int]:
    """A CIFAR-style ResNet (He et al. 2016) for 28-32 px images: ``widths[-1]``-d features (128 by default)."""
    net = SmallResNet(in_channels, widths, blocks, zero_init_residual)
    return net, net.feature_dim
