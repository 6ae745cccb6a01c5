"""MID-Net's base augmentations for point clouds, registered as the view-stage term ``pts_base``.

Per cloud (O-CNN's shape augmentation, microsoft/O-CNN ``transform`` settings): a random
rotation (Euler angles uniform in ``[-rotate, rotate]`` degrees about x, y, z), a random
anisotropic scale (each axis uniform in ``[1 - scale, 1 + scale]``), a random jitter
(translation of the whole cloud, each axis uniform in ``[-jitter, jitter]``), then every
coordinate clipped to ``[-1, 1]`` (the octree's box). Normals follow the linear part of the
transform (inverse-transpose, renormalized); other channels (segment ids) pass through.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from modalities.points.layout import NORMALS, XYZ
from rqbench.augment.base import Augmentation, Stage, rand
from rqbench.augment.registry import register_augmentation


def rotation_matrices(angles: Tensor) -> Tensor:
    """Rotation matrices ``R = Rz Ry Rx`` ``(B, 3, 3)`` of Euler angles ``(B, 3)`` in radians."""
    cx, cy, cz = angles.cos().unbind(1)
    sx, sy, sz = angles.sin().unbind(1)
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).view(-1, 3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


def transform_clouds(x: Tensor, linear: Tensor, shift: Tensor, clip: float = 1.0) -> Tensor:
    """``xyz' = clip(xyz A^T + t)``, ``n' = normalize(n A^{-1})`` for ``x`` ``(B, N, C)``, ``A`` ``(B, 3, 3)``,
    ``t`` ``(B, 3)``."""
    out = x.clone()
    xyz = x[..., XYZ] @ linear.transpose(1, 2).to(x.dtype) + shift.to(x.dtype).unsqueeze(1)
    out[..., XYZ] = xyz.clamp(-clip, clip)
    normals = x[..., NORMALS] @ torch.linalg.inv(linear).to(x.dtype)
    out[..., NORMALS] = torch.nn.functional.normalize(normals, dim=-1)
    return out


@register_augmentation("pts_base")
class PointBaseAugment(Augmentation):
    """MID-Net's base view: random rotation, scale and jitter, then clip to [-1, 1].

    Args:
        rotate: maximum Euler angle per axis, degrees (180: any orientation).
        scale: maximum relative scale change per axis.
        jitter: maximum translation per axis.
        generator: ``torch.Generator`` of the draws (injected by the trainer).
    """

    stage = Stage.VIEW
    modality = "points"

    def __init__(
        self,
        rotate: float = 180.0,
        scale: float = 0.25,
        jitter: float = 0.125,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("rotate", rotate), ("scale", scale), ("jitter", jitter)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if scale >= 1:
            raise ValueError(f"scale must be < 1 (scales are drawn in [1 - scale, 1 + scale]), got {scale}")
        self.rotate, self.scale, self.jitter = float(rotate), float(scale), float(jitter)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        """Augment a batch of clouds ``(B, N, C)`` (one draw per cloud)."""
        if x.ndim != 3 or x.shape[-1] < 6:
            raise ValueError(f"pts_base needs clouds (batch, points, >= 6 channels), got shape {tuple(x.shape)}")
        b = x.shape[0]
        u = rand((b, 9), self.generator, x.device)
        angles = (2 * u[:, 0:3] - 1) * math.radians(self.rotate)
        scales = 1 + (2 * u[:, 3:6] - 1) * self.scale
        shift = (2 * u[:, 6:9] - 1) * self.jitter
        linear = rotation_matrices(angles) @ torch.diag_embed(scales)
        return transform_clouds(x, linear, shift)

    def extra_repr(self) -> str:
        return f"rotate={self.rotate}, scale={self.scale}, jitter={self.jitter}"


__all__ = ["PointBaseAugment", "rotation_matrices", "transform_clouds"]
