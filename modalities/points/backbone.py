"""The O-CNN backbone: dense clouds -> octree (built inside ``forward``) -> shape and point features.

Clouds arrive as one dense tensor ``(B, N, C)`` whose channels start with ``x, y, z, nx, ny,
nz`` (:mod:`modalities.points.layout`); the octree is built from that tensor in the forward
pass, i.e. after every augmentation (Wang et al., O-CNN, SIGGRAPH 2017). The network is a small
octree U-Net made of ``ocnn`` modules on non-empty nodes only (``nempty=True``): an encoder of
stride-2 octree convolutions and residual blocks, a decoder of octree deconvolutions with skip
connections, and

* shape features: global average pooling of the deepest encoder features, ``(B, D)``;
* point features: the full-depth decoder features interpolated at each input point, ``(B, N, Dp)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ocnn
import torch
from ocnn.octree import Octree, Points
from torch import Tensor, nn

from modalities.points.layout import NORMALS, XYZ

MARGIN = 1e-3
"""Points are clamped into ``[-1 + MARGIN, 1 - MARGIN]``: ocnn needs them strictly inside [-1, 1]."""


def check_cloud_batch(x: Tensor) -> Tensor:
    """Raise a clear error unless ``x`` is a finite float batch ``(B, N, C >= 6)``."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim != 3 or x.shape[-1] < 6:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(
            f"point clouds must be a float tensor (batch, points, >= 6 channels: xyz + normals), got {shape}"
        )
    if not bool(torch.isfinite(x[..., : NORMALS.stop]).all()):
        raise ValueError("point clouds contain NaN or inf coordinates or normals")
    return x


def inside_box(xyz: Tensor, margin: float = MARGIN) -> Tensor:
    """``xyz`` clamped into the open cube ``(-1, 1)`` (``[-1 + margin, 1 - margin]``), as ocnn requires."""
    if not 0 < margin < 1:
        raise ValueError(f"margin must lie in (0, 1), got {margin}")
    return xyz.clamp(-1.0 + margin, 1.0 - margin)


def build_octree(x: Tensor, depth: int, full_depth: int = 2) -> Octree:
    """One batched octree of the clouds ``x`` ``(B, N, C)`` (xyz clamped strictly inside [-1, 1])."""
    x = check_cloud_batch(x).float()
    b, n, _ = x.shape
    worst = float(x[..., XYZ].abs().max()) if x.numel() else 0.0
    if worst > 1.0 + 1e-6:
        raise ValueError(
            f"points outside the octree's bounding box [-1, 1]^3 (largest |coordinate| {worst:.4g}); "
            "normalize clouds into the unit sphere, or clip them as the base view pts_base does"
        )
    xyz = inside_box(x[..., XYZ]).reshape(b * n, 3)
    normals = nn.functional.normalize(x[..., NORMALS].reshape(b * n, 3), dim=1)
    batch_id = torch.arange(b, device=x.device).repeat_interleave(n).unsqueeze(1)
    points = Points(xyz, normals, batch_id=batch_id, batch_size=b)
    octree = Octree(depth, full_depth, batch_size=b, device=x.device)
    octree.build_octree(points)
    octree.construct_all_neigh()
    return octree


class OctreeUNet(nn.Module):
    """A narrow octree U-Net over non-empty nodes giving shape and point features.

    Args:
        depth: octree depth (5 quick, 6 paper).
        channels: widths of the encoder, from full depth down (one stride-2 stage per extra width).
        point_dim: width of the point features (decoder output).
        blocks: residual blocks per encoder stage.
        full_depth: octree layers that are forced full.
        input_feature: ocnn input signal, ``"ND"`` (normal + displacement, 4 channels).
    """

    def __init__(
        self,
        depth: int = 5,
        channels: Sequence[int] = (16, 32, 64),
        point_dim: int = 32,
        blocks: int = 1,
        full_depth: int = 2,
        input_feature: str = "ND",
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or depth - (len(channels) - 1) < full_depth:
            raise ValueError(
                "need >= 2 widths and depth - stages >= full_depth, "
                f"got depth={depth}, channels={channels}, full_depth={full_depth}"
            )
        self.depth, self.full_depth, self.channels, self.point_dim = depth, full_depth, channels, point_dim
        self.input = ocnn.modules.InputFeature(input_feature, nempty=True)
        in_channels = {"N": 3, "D": 1, "F": 0, "L": 3, "P": 3}
        c_in = sum(in_channels.get(ch, 0) for ch in input_feature.upper())
        self.stem = ocnn.modules.OctreeConvBnRelu(c_in, channels[0], nempty=True)
        self.down = nn.ModuleList(
            ocnn.modules.OctreeConvBnRelu(channels[i], channels[i + 1], kernel_size=[2], stride=2, nempty=True)
            for i in range(len(channels) - 1)
        )
        self.encoder = nn.ModuleList(
            ocnn.modules.OctreeResBlocks(channels[i + 1], channels[i + 1], blocks, nempty=True)
            for i in range(len(channels) - 1)
        )
        self.up = nn.ModuleList(
            ocnn.modules.OctreeDeconvBnRelu(channels[i + 1], channels[i], kernel_size=[2], stride=2, nempty=True)
            for i in reversed(range(len(channels) - 1))
        )
        self.decoder = nn.ModuleList(
            ocnn.modules.OctreeConvBnRelu(2 * channels[i], channels[i], nempty=True)
            for i in reversed(range(len(channels) - 1))
        )
        self.point_head = ocnn.modules.Conv1x1BnRelu(channels[0], point_dim)
        self.pool = ocnn.nn.OctreeGlobalPool(nempty=True)
        self.interp = ocnn.nn.OctreeInterp("nearest", nempty=True)

    @property
    def feature_dim(self) -> int:
        """Width of the shape features."""
        return self.channels[-1]

    @property
    def point_feature_dim(self) -> int:
        """Width of the point features."""
        return self.point_dim

    def features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Shape features ``(B, D)`` and point features ``(B, N, Dp)`` of the clouds ``x`` ``(B, N, C)``."""
        b, n, _ = x.shape
        octree = build_octree(x, self.depth, self.full_depth)
        d = self.depth
        skips = [self.stem(self.input(octree), octree, d)]
        for down, enc in zip(self.down, self.encoder):
            h = enc(down(skips[-1], octree, d), octree, d - 1)
            d -= 1
            skips.append(h)
        shape = self.pool(skips[-1], octree, d)
        h = skips.pop()
        for up, dec in zip(self.up, self.decoder):
            h = up(h, octree, d)
            d += 1
            h = dec(torch.cat([h, skips.pop()], dim=1), octree, d)
        h = self.point_head(h)
        xyz = inside_box(x[..., XYZ].float()).reshape(b * n, 3)
        batch = torch.arange(b, device=x.device, dtype=xyz.dtype).repeat_interleave(n).unsqueeze(1)
        pts = torch.cat([xyz, batch], dim=1)  # OctreeInterp rescales [-1, 1] to [0, 2^depth)
        point = self.interp(h, octree, self.depth, pts).reshape(b, n, -1)
        return shape, point

    def forward(self, x: Tensor) -> Tensor:
        """Shape features ``(B, D)`` (what classification probes and MoCo / BYOL use)."""
        return self.features(x)[0]

    def point_features(self, x: Tensor) -> Tensor:
        """Point features ``(B, N, Dp)`` (what segmentation probes use)."""
        return self.features(x)[1]
