"""MID-Net pretraining (Wang et al., "Unsupervised Learning of ... Multi-resolution Instance
Discrimination", AAAI 2021) as a registered method: ``midnet``.

Shape-instance and point-instance discrimination against memory banks (see
:mod:`modalities.points.mid_loss` for the formulas and their source). The banks are buffers, so
they are saved in checkpoints and resumed bit for bit; they never receive gradients. MID-Net
discriminates instances against its banks, not views against each other, so it uses the first
query view of each step (base augmentations, then RQ when the spec has it) and ignores the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from modalities.points.layout import SEGMENT
from modalities.points.mid_loss import momentum_rows, point_instance_loss, segment_means, shape_instance_loss
from rqbench.augment.views import Views
from rqbench.distributed import gather_keys
from rqbench.methods import METHODS
from rqbench.methods.base import Method


@METHODS.register("midnet")
class MIDNet(Method):
    """MID-Net: shape- and point-instance discrimination with momentum-updated memory banks.

    The backbone must have ``features(x) -> (shape (B, D), points (B, N, Dp))`` and
    ``point_feature_dim``; the input's channel ``segment_channel`` holds each point's segment id.

    Args:
        backbone: e.g. :class:`modalities.points.backbone.OctreeUNet`.
        feature_dim: width ``D`` of the shape features.
        num_samples: number of pretraining shapes (rows of the shape bank; given by the trainer).
        temperature: softmax temperature ``T`` (0.1).
        bank_momentum: weight ``m`` of the new feature in a bank update (0.5).
        segments: segments per shape ``S`` (100).
        segment_channel: input channel holding the segment id.
        point_weight: weight of the point-instance loss (1).
    """

    shape_bank: Tensor
    point_bank: Tensor

    version = 2
    """2: a new point-bank row is the normalized mean of the *normalized* point features of its
    segment (O-CNN ``tensorflow/script/mid_loss.py`` lines 72, 114-115); 1 averaged raw features."""

    num_views = 2
    """Two views are drawn per step, as always, though only the first is used: the second keeps
    the random draws (and so every committed MID-Net run) as they were."""

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        num_samples: int,
        temperature: float = 0.1,
        bank_momentum: float = 0.5,
        segments: int = 100,
        segment_channel: int = SEGMENT,
        point_weight: float = 1.0,
    ) -> None:
        super().__init__(backbone, feature_dim)
        if not callable(getattr(backbone, "features", None)) or not isinstance(
            getattr(backbone, "point_feature_dim", None), int
        ):
            raise TypeError(
                "MID-Net needs a backbone with features(x) -> (shape, point features) and point_feature_dim"
            )
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        if not temperature > 0 or not 0.0 <= bank_momentum <= 1.0 or segments < 1:
            raise ValueError(
                "need temperature > 0, bank_momentum in [0, 1], segments >= 1; "
                f"got {temperature}, {bank_momentum}, {segments}"
            )
        self.temperature = float(temperature)
        self.bank_momentum = float(bank_momentum)
        self.segments = int(segments)
        self.segment_channel = int(segment_channel)
        self.point_weight = float(point_weight)
        point_dim = int(cast(int, backbone.point_feature_dim))
        self.register_buffer("shape_bank", F.normalize(torch.randn(num_samples, feature_dim), dim=1))
        self.register_buffer("point_bank", F.normalize(torch.randn(num_samples, self.segments, point_dim), dim=2))

    def segment_ids(self, x: Tensor) -> Tensor:
        """The segment id of every point of ``x`` ``(B, N, C)``, checked to lie in ``[0, segments)``."""
        seg = x[..., self.segment_channel].round().long()
        if seg.numel() and (int(seg.min()) < 0 or int(seg.max()) >= self.segments):
            raise ValueError(f"segment ids must lie in [0, {self.segments}), got [{int(seg.min())}, {int(seg.max())}]")
        return seg

    def losses(self, x: Tensor, indices: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(shape loss, point loss, shape features, point features, segments)`` of clouds ``x``."""
        shape, points = cast("Callable[[Tensor], tuple[Tensor, Tensor]]", self.backbone.features)(x)
        seg = self.segment_ids(x)
        shape_loss = shape_instance_loss(shape.float(), self.shape_bank, indices, self.temperature)
        point_loss = point_instance_loss(points.float(), self.point_bank[indices], seg, self.temperature)
        return shape_loss, point_loss, shape, points, seg

    def forward(self, views: Views) -> Tensor:
        """MID-Net loss of the first query view; the banks are updated afterwards (no gradient)."""
        self.check_views(views)
        if views.indices is None:
            raise ValueError("MID-Net needs the dataset indices of the batch (Views.indices)")
        if any(m is not None for m in views.mix):
            raise ValueError("MID-Net does not support mixing augmentations (it has no pairs of views to mix)")
        indices = views.indices.to(self.shape_bank.device).long()
        shape_loss, point_loss, shape, points, seg = self.losses(views.queries[0], indices)
        self.update_banks(shape.detach().float(), points.detach().float(), seg, indices)
        return shape_loss + self.point_weight * point_loss

    def log_values(self) -> dict[str, float]:
        """The bank momentum (MID-Net has no EMA branch)."""
        return {"bank_momentum": self.bank_momentum}

    @torch.no_grad()
    def update_banks(self, shape: Tensor, points: Tensor, segments: Tensor, indices: Tensor) -> None:
        """Move the bank rows of ``indices`` towards the batch's features (gathered over processes).

        Shape rows move towards ``l2norm(shape)``; point rows of each segment towards
        ``l2norm(mean of l2norm(point features))`` (:func:`~modalities.points.mid_loss.segment_means`,
        as O-CNN ``mid_loss.py`` lines 72, 114-115); both by ``l2norm(m * new + (1 - m) * old)``.
        """
        new_points = segment_means(points, segments, self.segments)
        shape_all, _ = gather_keys(F.normalize(shape, dim=1))
        points_all, _ = gather_keys(new_points)
        idx_all, _ = gather_keys(indices)
        # out of place: the loss's graph holds the old shape bank for its backward pass
        self.shape_bank = self.shape_bank.index_copy(
            0, idx_all, momentum_rows(self.shape_bank[idx_all], shape_all, self.bank_momentum)
        )
        self.point_bank[idx_all] = momentum_rows(self.point_bank[idx_all], points_all, self.bank_momentum)

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return []

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, bank_momentum={self.bank_momentum}, segments={self.segments}, "
            f"banks={tuple(self.point_bank.shape)}"
        )
