"""The base class of self-supervised methods: ``forward(views) -> loss``; by default a symmetric loss over
views plus momentum pairs."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import ClassVar

import torch
from torch import Tensor, nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.embedding import EmbeddedBackbone
from rqbench.methods.ema import ema_update
from rqbench.schedules import cosine_momentum


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (same initial weights) whose parameters never need gradients."""
    twin = copy.deepcopy(module)
    twin.requires_grad_(False)
    return twin


class Method(nn.Module):
    """Base of every registered method: ``forward(views) -> loss``, plus the method's own state.

    The trainer makes :attr:`num_views` views per step (:class:`~rqbench.augment.views.Views`)
    and calls ``forward(views)``; that is the whole contract. The default ``forward`` is the
    symmetric loss of a two-branch method: every query view against the keys of every other
    view. Such methods implement :meth:`query` (online branch, with gradients), :meth:`key`
    (momentum / target branch, run under ``no_grad``), :meth:`pair_loss` (one direction) and
    :meth:`momentum_pairs`, and set ``self.momentum`` (the schedule's base) and
    ``self.fixed_momentum``. Methods with another objective override ``forward`` with the same
    signature. A method that keeps per-sample state takes ``num_samples`` in its constructor
    (the trainer passes the pretraining set's size to every method that accepts it) and reads
    :attr:`Views.indices`.

    Args:
        backbone: maps an input batch to features ``(B, feature_dim)``.
        feature_dim: width of the backbone's features.
    """

    momentum: float | None = None
    """Base of the EMA momentum schedule; ``None`` for methods without a momentum branch."""
    fixed_momentum: bool = False
    num_views: int = 2
    """Views the trainer makes per step (multi-crop methods raise it)."""
    version: ClassVar[int] = 1
    """Bump it when the method's math changes: runs keyed with the old version are not reused."""

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
    def check_views(self, views: Views) -> None:
        """``ValueError`` unless ``views`` holds :attr:`num_views` views."""
        if len(views) != self.num_views:
            raise ValueError(f"{type(self).__name__} needs {self.num_views} views per step, got {len(views)}")

    def forward(self, views: Views) -> Tensor:
        """Sum over ordered pairs ``i != j`` of ``pair_loss(query(queries[i]), key(keys[j]), mix[i])``.

        ``queries`` are the (possibly mixed) views for the online branch, ``keys`` the clean
        views for the momentum branch. With two views: MoCo-v3's / BYOL's symmetric loss
        ``pair_loss(q1, k2) + pair_loss(q2, k1)``.
        """
        self.check_views(views)
        q = [self.query(v) for v in views.queries]
        with torch.no_grad():
            k = [self.key(v) for v in views.keys]
        pairs = [self.pair_loss(q[i], k[j], views.mix[i]) for i in range(len(q)) for j in range(len(k)) if i != j]
        if not pairs:
            raise ValueError(f"{type(self).__name__}'s symmetric loss needs at least two views, got {len(views)}")
        loss = pairs[0]
        for term in pairs[1:]:
            loss = loss + term
        return loss

    def log_values(self) -> dict[str, float]:
        """Extra per-step values the trainer logs beside the loss (e.g. MID-Net's bank momentum)."""
        return {}

    def momentum_at(self, step: int, total_steps: int) -> float | None:
        """Momentum used at ``step``: the cosine schedule from ``self.momentum`` to 1 (or fixed);
        ``None`` for a method without a momentum branch."""
        if self.momentum is None:
            return None
        if self.fixed_momentum:
            return float(self.momentum)
        return cosine_momentum(step, total_steps, self.momentum)

    @torch.no_grad()
    def momentum_update(self, step: int, total_steps: int) -> float | None:
        """EMA every momentum pair in place (``p_k = m p_k + (1 - m) p_q``); return ``m`` (``None`` without a
        momentum branch)."""
        m = self.momentum_at(step, total_steps)
        if m is not None:
            for online, target in self.momentum_pairs():
                ema_update(target, online, m)
        return m

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the optimizer should see (momentum branches excluded)."""
        return (p for p in self.parameters() if p.requires_grad)
