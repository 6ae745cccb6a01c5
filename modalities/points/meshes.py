"""Meshes to clouds with open3d: load (also from inside a zip), sample points with normals."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from modalities.points.clouds import check_cloud, normalize_unit_sphere
from rqbench.errors import InputError


class MeshLoadError(RuntimeError, InputError):
    """A mesh file could not be read or has no triangles; the message names the file."""


def _quiet_open3d() -> None:
    import open3d as o3d

    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)


def load_mesh(path: str | os.PathLike[str]):  # -> open3d.geometry.TriangleMesh
    """All triangles of the mesh file ``path`` (OBJ, OFF, PLY, STL, ...) as one open3d mesh.

    Polygons are triangulated (open3d's model reader). Raises :class:`MeshLoadError` when the
    file is missing, unreadable or holds no triangles.
    """
    import open3d as o3d

    _quiet_open3d()
    path = Path(path)
    if not path.is_file():
        raise MeshLoadError(f"mesh file {path} does not exist")
    try:
        model = o3d.io.read_triangle_model(str(path))  # type: ignore[arg-type]  # open3d 0.20's stub lacks `filename`
        mesh = o3d.geometry.TriangleMesh()
        for part in model.meshes:
            mesh += part.mesh
    except Exception as exc:  # open3d raises RuntimeError subclasses with C++ messages
        raise MeshLoadError(f"cannot read mesh {path}: {exc}") from None
    if len(mesh.triangles) == 0:
        # plain reader: OFF / PLY files without a model (open3d's stub types `filename` as os.PathLike only)
        mesh = o3d.io.read_triangle_mesh(str(path))  # type: ignore[arg-type]
    if len(mesh.triangles) == 0:
        raise MeshLoadError(f"mesh {path} has no triangles (unreadable or empty file)")
    return mesh


def load_zipped_mesh(archive: str | os.PathLike[str], member: str):  # -> open3d.geometry.TriangleMesh
    """The mesh ``member`` of the zip ``archive`` (e.g. a Sweet Home 3D ``.sh3f`` catalog)."""
    member = member.lstrip("/")
    try:
        with zipfile.ZipFile(archive) as z:
            data = z.read(member)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise MeshLoadError(f"cannot read {member} from {archive}: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(member).name
        path.write_bytes(data)
        try:
            return load_mesh(path)
        except MeshLoadError as exc:
            raise MeshLoadError(f"{archive}:{member}: {exc}") from None


def sample_cloud(mesh, n: int, seed: int, name: str = "mesh") -> np.ndarray:
    """``n`` points with unit normals sampled uniformly on ``mesh``'s surface, normalized into the
    unit sphere; float32 ``(n, 6)``. Deterministic for a seed (open3d's global sampler is seeded)."""
    import open3d as o3d

    if n < 1:
        raise ValueError(f"the number of points must be >= 1, got {n}")
    mesh.compute_triangle_normals()
    o3d.utility.random.seed(int(seed) % (2**31))
    try:
        cloud = mesh.sample_points_uniformly(n, use_triangle_normal=True)
    except RuntimeError as exc:
        raise MeshLoadError(f"{name}: cannot sample points: {exc}") from None
    xyz, normals = np.asarray(cloud.points), np.asarray(cloud.normals)
    if xyz.shape[0] != n:
        raise MeshLoadError(f"{name}: sampled {xyz.shape[0]} points instead of {n}")
    out = np.concatenate([normalize_unit_sphere(xyz), normals], axis=1).astype(np.float32)
    return check_cloud(out, name)


__all__ = ["MeshLoadError", "load_mesh", "load_zipped_mesh", "sample_cloud"]
