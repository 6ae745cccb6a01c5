"""The channel layout of a batch of point clouds: ``(B, N, C)`` with C = xyz, normals, segment id.

Every cloud has a fixed number ``N`` of points so a batch is one dense tensor. Channels:

* ``0:3`` ``x, y, z`` inside the unit sphere (what randomized quantization touches);
* ``3:6`` unit normals ``nx, ny, nz`` (rotated with the points, never quantized);
* ``6`` the point's MID-Net segment id in ``[0, segments)``, stored as a float (exact below 2^24).
"""

from __future__ import annotations

from rqbench.augment.base import ChannelLayout

XYZ = slice(0, 3)
NORMALS = slice(3, 6)
SEGMENT = 6
CHANNELS = 7

LAYOUT = ChannelLayout(channel_dim=-1, batch_dims=1, channels=(0, 1, 2))
"""RQ on the xyz channels of each cloud (min / max over the cloud's points)."""
