"""Shared fixtures of the method tests: a tiny MLP backbone and two views."""

from __future__ import annotations

import pytest
import torch
from torch import nn

IN_DIM = 12
FEATURE_DIM = 16
SMALL_HEADS = dict(proj_hidden=32, proj_dim=8, pred_hidden=24)


def tiny_backbone(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(IN_DIM, FEATURE_DIM), nn.ReLU(), nn.Linear(FEATURE_DIM, FEATURE_DIM))


@pytest.fixture
def views() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    return torch.randn(8, IN_DIM, generator=g), torch.randn(8, IN_DIM, generator=g)
