"""Pure functions on single point clouds: checks, unit-sphere normalization, resampling, segments.

A cloud here is a NumPy array ``(N, 6)`` of ``x, y, z, nx, ny, nz`` (float32).
"""

from __future__ import annotations

import warnings

import numpy as np


class CloudWarning(UserWarning):
    """A cloud was repaired (e.g. resampled with replacement); the message says what and why."""


def check_cloud(cloud: np.ndarray, name: str = "cloud") -> np.ndarray:
    """Raise ``ValueError`` naming ``name`` unless ``cloud`` is ``(N >= 1, C >= 6)`` (xyz, normals, extra
    per-point columns) with finite values."""
    cloud = np.asarray(cloud)
    if cloud.ndim != 2 or cloud.shape[1] < 6 or cloud.shape[0] == 0:
        raise ValueError(
            f"{name}: a cloud must be (points, >= 6) = xyz + normals (+ extras) with at least one point, "
            f"got shape {cloud.shape}"
        )
    bad = ~np.isfinite(cloud).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name}: {int(bad.sum())} of {cloud.shape[0]} points have NaN or inf coordinates or normals "
            f"(first at row {int(np.argmax(bad))})"
        )
    return cloud


def normalize_unit_sphere(xyz: np.ndarray) -> np.ndarray:
    """Centre ``xyz`` ``(N, 3)`` on its bounding-box centre and scale it so the farthest point has norm 1."""
    centre = (xyz.max(axis=0) + xyz.min(axis=0)) / 2
    shifted = xyz - centre
    radius = float(np.linalg.norm(shifted, axis=1).max())
    return shifted / radius if radius > 0 else shifted


def resample(cloud: np.ndarray, n: int, rng: np.random.Generator, name: str = "cloud") -> np.ndarray:
    """Exactly ``n`` points of ``cloud``: a random subset, or all of them plus duplicates drawn with
    replacement (with a :class:`CloudWarning`) when it has fewer than ``n``."""
    cloud = check_cloud(cloud, name)
    if n < 1:
        raise ValueError(f"the number of points must be >= 1, got {n}")
    have = cloud.shape[0]
    if have >= n:
        return cloud[np.sort(rng.choice(have, n, replace=False))] if have > n else cloud
    warnings.warn(
        f"{name}: has {have} points, fewer than the {n} requested; resampling {n - have} of them with replacement",
        CloudWarning,
        stacklevel=2,
    )
    extra = rng.choice(have, n - have, replace=True)
    return np.concatenate([cloud, cloud[extra]], axis=0)


def farthest_point_segments(xyz: np.ndarray, segments: int) -> np.ndarray:
    """Cluster a cloud into ``segments`` pieces: farthest-point seeds (open3d, from point 0), every
    point to its nearest seed. Returns int64 ids in ``[0, segments)`` (MID-Net's point instances)."""
    import open3d as o3d

    n = xyz.shape[0]
    if segments < 1:
        raise ValueError(f"segments must be >= 1, got {segments}")
    if n <= segments:
        return np.arange(n, dtype=np.int64)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz.astype(np.float64)))
    seeds = np.asarray(cloud.farthest_point_down_sample(segments).points)
    d2 = ((xyz[:, None, :] - seeds[None, :, :]) ** 2).sum(-1)
    return d2.argmin(axis=1).astype(np.int64)


__all__ = ["CloudWarning", "check_cloud", "farthest_point_segments", "normalize_unit_sphere", "resample"]
