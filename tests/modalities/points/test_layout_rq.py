"""RQ touches only xyz of a cloud batch; the channel-subset layout is general and off by default."""

import pytest
import torch

from modalities.points.layout import LAYOUT
from rqbench.augment.base import ChannelLayout, on_channels
from rqbench.augment.quantize import RandomizedQuantization
from rqbench.augment.spec import build_pipeline


def test_default_layout_unchanged() -> None:
    assert ChannelLayout() == ChannelLayout(1, 1, None)
    x = torch.rand(2, 3, 4, 4)
    a = RandomizedQuantization(4, generator=torch.Generator().manual_seed(0))(x)
    b = RandomizedQuantization(4, channels=None, generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal(a, b)


def test_rq_only_touches_xyz() -> None:
    x = torch.rand(3, 200, 7)
    pipeline = build_pipeline(
        "rq(bins=30)", layout=LAYOUT, modality="points", generator=torch.Generator().manual_seed(0)
    )
    y = pipeline(x)
    assert torch.equal(y[..., 3:], x[..., 3:])
    assert not torch.equal(y[..., :3], x[..., :3])
    for b in range(3):
        for c in range(3):
            assert y[b, :, c].unique().numel() <= 30
            assert x[b, :, c].min() <= y[b, :, c].min() and y[b, :, c].max() <= x[b, :, c].max()


def test_on_channels_and_errors() -> None:
    x = torch.arange(12.0).view(2, 6)
    out = on_channels(lambda t: t * 0, x, -1, (0, 2))
    assert torch.equal(out[:, [1, 3, 4, 5]], x[:, [1, 3, 4, 5]]) and out[:, [0, 2]].abs().sum() == 0
    with pytest.raises(ValueError, match="channels"):
        on_channels(lambda t: t, x, -1, (7,))
    with pytest.raises(ValueError, match="channels"):
        RandomizedQuantization(8, channels=[0, 1])  # type: ignore[arg-type]
