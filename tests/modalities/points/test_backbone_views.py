"""The octree backbone (points strictly inside [-1, 1], shapes, bad input) and the base views."""

import pytest
import torch
import torch.nn.functional as F

from modalities.points.backbone import MARGIN, OctreeUNet, build_octree, inside_box
from modalities.points.views import PointBaseAugment, rotation_matrices


def clouds(b: int = 2, n: int = 128, radius: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    xyz = F.normalize(torch.randn(b, n, 3, generator=g), dim=-1) * radius
    return torch.cat([xyz, F.normalize(xyz, dim=-1), torch.zeros(b, n, 1)], dim=-1)


def test_octree_points_strictly_inside() -> None:
    x = clouds()
    x[0, 0, :3] = torch.tensor([1.0, -1.0, 1.0])  # on the box: allowed, moved strictly inside
    assert inside_box(x[..., :3]).abs().max() <= 1 - MARGIN
    octree = build_octree(x, depth=4)
    assert octree.batch_size == 2 and int(octree.nnum_nempty[4]) > 0


def test_bad_input_errors() -> None:
    x = clouds()
    x[1, 3, 0] = 1.5
    with pytest.raises(ValueError, match="bounding box"):
        build_octree(x, depth=4)
    x = clouds()
    x[0, 0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        build_octree(x, depth=4)
    with pytest.raises(ValueError, match="channels"):
        build_octree(torch.zeros(2, 10, 3), depth=4)


def test_feature_shapes() -> None:
    net = OctreeUNet(depth=4, channels=(8, 16), point_dim=8)
    shape, points = net.features(clouds(b=3, n=100, radius=0.9))
    assert shape.shape == (3, 16) and points.shape == (3, 100, 8)
    assert net(clouds(b=3, radius=0.9)).shape == (3, net.feature_dim)


def test_base_view_clips_rotates_normals_keeps_segments() -> None:
    x = clouds(b=4, n=50)
    x[..., 6] = torch.arange(50.0)
    aug = PointBaseAugment(rotate=180, scale=0.25, jitter=0.5, generator=torch.Generator().manual_seed(1))
    y = aug(x)
    assert y[..., :3].abs().max() <= 1.0
    assert torch.allclose(y[..., 3:6].norm(dim=-1), torch.ones(4, 50), atol=1e-5)
    assert torch.equal(y[..., 6], x[..., 6])
    again = PointBaseAugment(rotate=180, scale=0.25, jitter=0.5, generator=torch.Generator().manual_seed(1))(x)
    assert torch.equal(y, again)


def test_rotation_only_preserves_geometry() -> None:
    x = clouds(b=2, n=20, radius=0.5)
    y = PointBaseAugment(rotate=180, scale=0.0, jitter=0.0, generator=torch.Generator().manual_seed(2))(x)
    assert torch.allclose(y[..., :3].norm(dim=-1), x[..., :3].norm(dim=-1), atol=1e-5)
    r = rotation_matrices(torch.tensor([[0.3, -1.0, 2.0]]))
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3).unsqueeze(0), atol=1e-6)
    with pytest.raises(ValueError, match="scale"):
        PointBaseAugment(scale=1.0)


def test_point_features_are_their_voxels_features() -> None:
    """Two points in the same finest voxel get the same feature; points get non-zero features."""
    torch.manual_seed(0)
    net = OctreeUNet(depth=4, channels=(8, 16), point_dim=8).eval()
    x = clouds(b=2, n=64, radius=0.9)
    x[0, 1, :3] = x[0, 0, :3] + 1e-4
    x[0, 1, 3:6] = x[0, 0, 3:6]
    with torch.no_grad():
        points = net.point_features(x)
    assert torch.allclose(points[0, 0], points[0, 1])
    assert (points.abs().sum(-1) > 0).float().mean() > 0.9  # points found their voxels (zeros mean a missed lookup)
