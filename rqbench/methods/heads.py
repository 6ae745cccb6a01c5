"""MLP projection / prediction heads (MoCo v3 ``_build_mlp`` and BYOL's MLP)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


def mlp(
    num_layers: int,
    in_dim: int,
    hidden_dim: int,
    out_dim: int,
    last_bn: bool = True,
    bias: bool = False,
    batch_norm: bool = True,
) -> nn.Sequential:
    """An MLP head as MoCo v3's ``_build_mlp``.

    Hidden layers are ``Linear(bias) - BatchNorm1d - ReLU``; the last layer is
    ``Linear(bias)`` followed, when ``last_bn``, by ``BatchNorm1d(affine=False)``
    (SimCLR's design, used by MoCo v3). MoCo v3 uses ``bias=False``; BYOL's
    ``Linear - BN - ReLU - Linear`` is ``mlp(2, d, 4096, 256, last_bn=False, bias=True)``.
    ``batch_norm=False`` drops every BatchNorm (hidden and last): on CPU, where PyTorch has
    no SyncBatchNorm, it makes a multi-process run equal a one-process run on the same global batch.
    """
    for name, value in (
        ("num_layers", num_layers),
        ("in_dim", in_dim),
        ("hidden_dim", hidden_dim),
        ("out_dim", out_dim),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"mlp {name} must be a positive integer, got {value!r}")
    layers: list[nn.Module] = []
    for i in range(num_layers):
        d1 = in_dim if i == 0 else hidden_dim
        d2 = out_dim if i == num_layers - 1 else hidden_dim
        layers.append(nn.Linear(d1, d2, bias=bias))
        if i < num_layers - 1:
            if batch_norm:
                layers.append(nn.BatchNorm1d(d2))
            layers.append(nn.ReLU(inplace=True))
        elif last_bn and batch_norm:
            layers.append(nn.BatchNorm1d(d2, affine=False))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class HeadConfig:
    """Declarative shape of an :func:`mlp` head (all but its input width)."""

    num_layers: int = 2
    hidden_dim: int = 4096
    out_dim: int = 256
    last_bn: bool = True
    bias: bool = False
    batch_norm: bool = True

    def build(self, in_dim: int) -> nn.Sequential:
        """The head for inputs of width ``in_dim``."""
        return mlp(
            self.num_layers,
            in_dim,
            self.hidden_dim,
            self.out_dim,
            last_bn=self.last_bn,
            bias=self.bias,
            batch_norm=self.batch_norm,
        )
