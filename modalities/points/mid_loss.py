"""MID-Net's losses and memory-bank updates as pure functions (Wang et al., AAAI 2021).

Facts from microsoft/O-CNN (``tensorflow/script/mid_loss.py``, ``configs/mid_hrnet_d6.yaml``):

* shape-instance discrimination: ``f = l2norm(shape feature)``, logits ``f M^T / T`` against a
  bank ``M`` (one L2-normalized row per training shape), cross-entropy with the shape's own
  index as the label;
* point-instance discrimination: each shape's points are pre-clustered into ``S`` segments;
  ``g = l2norm(point feature)``, logits ``g P_s^T / T`` against that shape's per-segment bank
  ``P_s`` (``S`` rows), cross-entropy with the point's segment as the label;
* after the step, bank rows move to ``l2norm(m * new + (1 - m) * old)``; the new point-bank row
  of a segment is ``l2norm(mean_p l2norm(g_p))``: each point feature is L2-normalized first
  (``PointLoss.forward``, line 72, stores ``self.feature = l2_normalize(feature)``), the segment
  mean is taken of those (``update_memory``, line 114, ``unsorted_segment_mean``) and
  normalized again (line 115); lines as of O-CNN commit d7928c6;
* ``T = 0.1``, ``m = 0.5``, ``S = 100``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def shape_logits(features: Tensor, bank: Tensor, temperature: float) -> Tensor:
    """``l2norm(features) @ bank^T / T``: ``(B, D)`` against ``(K, D)`` gives ``(B, K)``."""
    return F.normalize(features, dim=1) @ bank.t() / temperature


def shape_instance_loss(features: Tensor, bank: Tensor, indices: Tensor, temperature: float = 0.1) -> Tensor:
    """Cross-entropy of every shape's logits against the whole bank, label = its own bank row."""
    return F.cross_entropy(shape_logits(features, bank, temperature), indices.long())


def point_logits(point_features: Tensor, segment_bank: Tensor, temperature: float) -> Tensor:
    """``(B, N, D)`` point features against each shape's ``(B, S, D)`` segment rows: ``(B, N, S)``."""
    return torch.einsum("bnd,bsd->bns", F.normalize(point_features, dim=-1), segment_bank) / temperature


def point_instance_loss(
    point_features: Tensor, segment_bank: Tensor, segments: Tensor, temperature: float = 0.1
) -> Tensor:
    """Mean cross-entropy over all points of classifying each point into its own segment.

    Args:
        point_features: ``(B, N, D)``.
        segment_bank: ``(B, S, D)``, the bank rows of each shape of the batch.
        segments: ``(B, N)`` segment id of every point, in ``[0, S)``.
    """
    logits = point_logits(point_features, segment_bank, temperature)
    return F.cross_entropy(logits.flatten(0, 1), segments.flatten().long())


def segment_means(point_features: Tensor, segments: Tensor, num_segments: int) -> Tensor:
    """``l2norm(mean of l2norm(point feature))`` of every segment of every shape, ``(B, S, D)``; empty ones are 0.

    Each point feature is L2-normalized before the mean, as O-CNN ``tensorflow/script/mid_loss.py``
    (lines 72, 114-115), so a prototype is not weighted by feature norm.
    """
    b, n, d = point_features.shape
    point_features = F.normalize(point_features, dim=-1)
    flat = (segments.long() + num_segments * torch.arange(b, device=segments.device).unsqueeze(1)).flatten()
    sums = point_features.new_zeros(b * num_segments, d).index_add_(0, flat, point_features.reshape(b * n, d))
    counts = point_features.new_zeros(b * num_segments).index_add_(0, flat, point_features.new_ones(b * n))
    means = sums / counts.clamp_min(1).unsqueeze(1)
    return F.normalize(means, dim=1).view(b, num_segments, d)


def momentum_rows(old: Tensor, new: Tensor, momentum: float) -> Tensor:
    """``l2norm(m * new + (1 - m) * old)`` along the last axis (a zero ``new`` row keeps ``old``'s direction)."""
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"bank momentum must lie in [0, 1], got {momentum}")
    return F.normalize(momentum * new + (1.0 - momentum) * old, dim=-1)


__all__ = [
    "momentum_rows",
    "point_instance_loss",
    "point_logits",
    "segment_means",
    "shape_instance_loss",
    "shape_logits",
]
