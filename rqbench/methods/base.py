"""The base class of self-supervised methods: a symmetric two-view loss plus momentum pairs."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from rqbench.augment.base import MixInfo
from rqbench.embedding import EmbeddedBackbone
from rqbench.methods.schedule import cosine_momentum, ema_update


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (same initial weights) whose parameters never need gradients."""
    twin = copy.deepcopy(module)
    twin.requires_grad_(False)
    return twin


def check_views(queries: Sequence[Tensor], keys: Sequence[Tensor], mix: Sequence[MixInfo | None]) -> None:
    """Raise ``ValueError`` unless there are two query views, two key views and two mix entries."""
    if len(queries) != 2 or len(keys) != 2 or len(mix) != 2:
        raise ValueError("a method needs two query views, two key views and two mix entries")


class Method(nn.Module):
    """Base of every registered method: online (query) branch, momentum (key) branch, loss.

    Subclasses implement :meth:`query` (online branch, with gradients), :meth:`key`
    (momentum / target branch, run under ``no_grad``), :meth:`pair_loss` (one
    direction) and :meth:`momentum_pairs`, and set ``self.momentum`` (the schedule's
    base) and ``self.fixed_momentum``.

    Args:
        backbone: maps an input batch to features ``(B, feature_dim)``.
        feature_dim: width of the backbone's features.
    """

    momentum: float
    fixed_momentum: bool = False
    needs_indices: ClassVar[bool] = False
    """True for methods that keep per-sample state (MID-Net's memory banks): the trainer then
    builds them with ``num_samples=`` (the pretraining set's size) and calls ``forward`` with
    ``indices=`` (the dataset index of every sample of the local batch, ``(B,)`` int64)."""

    def __init__(self, backbone: nn.Module, feature_dim: int) -> None:
        super().__init__()
        if not isinstance(backbone, nn.Module):
            raise TypeError(f"backbone must be a torch.nn.Module, got {type(backbone).__name__}")
        if isinstance(feature_dim, bool) or not isinstance(feature_dim, int) or feature_dim < 1:
            raise ValueError(f"feature_dim must be a positive integer, got {feature_dim!r}")
        self.input_embedding: nn.Module | None = None
        if isinstance(backbone, EmbeddedBackbone):  # the channel stage acts between its parts
            self.input_embedding, backbone = backbone.embedding, backbone.encoder
        self.backbone = backbone
        self.feature_dim = feature_dim

    @property
    def encoder(self) -> nn.Module:
        """The online backbone (what evaluation probes), input embedding included if any."""
        if self.input_embedding is None:
            return self.backbone
        return EmbeddedBackbone(self.input_embedding, self.backbone)

    def embed(self, x: Tensor) -> Tensor:
        """The channel-stage tensor of a view: the input embedding's output, or ``x`` without one."""
        return x if self.input_embedding is None else self.input_embedding(x)

    # -- to implement -------------------------------------------------------------------
    def query(self, x: Tensor) -> Tensor:  # pragma: no cover - interface
        """Online-branch output for a batch of (possibly mixed) views, with gradients."""
        raise NotImplementedError

    def key(self, x: Tensor) -> Tensor:  # pragma: no cover - interface
        """Momentum-branch output for a batch of clean views (called under ``no_grad``)."""
        raise NotImplementedError

    def pair_loss(self, q: Tensor, k: Tensor, mix: MixInfo | None) -> Tensor:  # pragma: no cover - interface
        """Loss of one direction: queries ``q`` against keys ``k`` of the other view."""
        raise NotImplementedError

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:  # pragma: no cover - interface
        """``(online, momentum)`` module pairs that :meth:`momentum_update` moves."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def forward(
        self,
        queries: tuple[Tensor, Tensor],
        keys: tuple[Tensor, Tensor],
        mix: tuple[MixInfo | None, MixInfo | None] = (None, None),
    ) -> Tensor:
        """Symmetric loss ``pair_loss(q(queries[0]), k(keys[1]), mix[0]) + pair_loss(q(queries[1]), k(keys[0]), mix[1])``.

        ``queries`` are the (possibly mixed) views for the online branch, ``keys`` the
        clean views for the momentum branch (the same tensors when nothing mixes).
        """
        check_views(queries, keys, mix)
        q1, q2 = self.query(queries[0]), self.query(queries[1])
        with torch.no_grad():
            k1, k2 = self.key(keys[0]), self.key(keys[1])
        return self.pair_loss(q1, k2, mix[0]) + self.pair_loss(q2, k1, mix[1])

    def momentum_at(self, step: int, total_steps: int) -> float:
        """Momentum used at ``step``: the cosine schedule from ``self.momentum`` to 1 (or fixed)."""
        if self.fixed_momentum:
            return float(self.momentum)
        return cosine_momentum(step, total_steps, self.momentum)

    @torch.no_grad()
    def momentum_update(self, step: int, total_steps: int) -> float:
        """EMA every momentum pair in place (``p_k = m p_k + (1 - m) p_q``); return ``m``."""
        m = self.momentum_at(step, total_steps)
        for online, target in self.momentum_pairs():
            ema_update(target, online, m)
        return m

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the optimizer should see (momentum branches excluded)."""
        return (p for p in self.parameters() if p.requires_grad)
