"""A *procedural* part-labelled shape set built from open3d primitives (no real part labels exist offline).

Each category is a recipe of primitive parts whose identity is known, with randomized
proportions and counts (drawn from a seeded NumPy generator):

======== ======================== ==========================================
category parts                    randomized
======== ======================== ==========================================
chair    seat, back, legs         seat size, back height / tilt, 3-4 legs or a pedestal
table    top, legs                round or square top, 1 (pedestal) / 3 / 4 legs, height
lamp     base, pole, shade        base radius, pole height, shade cone size
mug      body, handle             body radius / height, handle size and height
bed      mattress, headboard, legs length / width, headboard height, 4 or 6 legs
shelf    sides, boards            width, height, 2-6 boards
======== ======================== ==========================================

Points are sampled on every part in proportion to its area, so labels are exact; the union is
normalized into the unit sphere. Part labels are global (``0 .. 14``); :data:`PARTS_OF` lists
each category's. Everywhere this set is reported it is called procedural.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets
import numpy as np

from modalities.points.cache import load_or_build, progress_bar
from modalities.points.clouds import farthest_point_segments, normalize_unit_sphere

CATEGORY_PARTS: dict[str, tuple[str, ...]] = {
    "chair": ("seat", "back", "legs"),
    "table": ("top", "legs"),
    "lamp": ("base", "pole", "shade"),
    "mug": ("body", "handle"),
    "bed": ("mattress", "headboard", "legs"),
    "shelf": ("sides", "boards"),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_PARTS)
PART_NAMES: tuple[str, ...] = tuple(f"{c}/{p}" for c, parts in CATEGORY_PARTS.items() for p in parts)
PARTS_OF: dict[int, tuple[int, ...]] = {
    i: tuple(PART_NAMES.index(f"{c}/{p}") for p in CATEGORY_PARTS[c]) for i, c in enumerate(CATEGORIES)
}
"""Category index -> its global part labels."""

Part = tuple[Any, str]  # (open3d mesh, part name)


def _box(sx: float, sy: float, sz: float, cx: float, cy: float, cz: float):
    import open3d as o3d

    m = o3d.geometry.TriangleMesh.create_box(sx, sy, sz)
    return m.translate((cx - sx / 2, cy - sy / 2, cz - sz / 2))


def _cyl(r: float, h: float, cx: float, cy: float, cz: float, axis: str = "z"):
    import open3d as o3d

    m = o3d.geometry.TriangleMesh.create_cylinder(r, h, resolution=16)
    if axis == "x":
        m.rotate(m.get_rotation_matrix_from_xyz((0, np.pi / 2, 0)), center=(0, 0, 0))
    return m.translate((cx, cy, cz))


def _legs(rng: np.random.Generator, count: int, hx: float, hy: float, height: float, r: float) -> list:
    if count == 3:
        angles = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        spots = [(hx * np.cos(a), hy * np.sin(a)) for a in angles]
    else:
        xs = np.linspace(-hx, hx, count // 2)
        spots = [(x, y) for x in xs for y in (-hy, hy)]
    return [_cyl(r, height, x, y, height / 2) for x, y in spots]


def chair(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.3)
    t = rng.uniform(0.06, 0.15)
    parts: list[Part] = [(_box(w, d, t, 0, 0, h + t / 2), "seat")]
    back = _box(w, t, rng.uniform(0.7, 1.3), 0, d / 2 - t / 2, 0)
    bh = np.asarray(back.get_max_bound())[2] - np.asarray(back.get_min_bound())[2]
    back.translate((0, 0, h + t + bh / 2))
    back.rotate(back.get_rotation_matrix_from_xyz((rng.uniform(-0.25, 0.0), 0, 0)), center=(0, d / 2, h + t))
    parts.append((back, "back"))
    if rng.random() < 0.2:
        parts += [(_cyl(0.06, h, 0, 0, h / 2), "legs"), (_cyl(w * 0.35, 0.05, 0, 0, 0.025), "legs")]
    else:
        parts += [
            (m, "legs")
            for m in _legs(rng, int(rng.choice([3, 4])), w / 2 - 0.06, d / 2 - 0.06, h, rng.uniform(0.03, 0.06))
        ]
    return parts


def table(rng: np.random.Generator) -> list[Part]:
    h, t = rng.uniform(0.6, 1.1), rng.uniform(0.04, 0.1)
    if rng.random() < 0.5:
        w, d = rng.uniform(1.2, 2.2), rng.uniform(0.8, 1.2)
        top = _box(w, d, t, 0, 0, h + t / 2)
    else:
        w = d = rng.uniform(1.0, 1.8)
        top = _cyl(w / 2, t, 0, 0, h + t / 2)
    count = int(rng.choice([1, 3, 4]))
    legs = (
        [_cyl(0.08, h, 0, 0, h / 2), _cyl(w * 0.25, 0.04, 0, 0, 0.02)]
        if count == 1
        else _legs(rng, count, w / 2 - 0.1, d / 2 - 0.1, h, rng.uniform(0.03, 0.07))
    )
    return [(top, "top")] + [(m, "legs") for m in legs]


def lamp(rng: np.random.Generator) -> list[Part]:
    import open3d as o3d

    rb, hb, hp = rng.uniform(0.2, 0.45), rng.uniform(0.04, 0.12), rng.uniform(0.8, 2.0)
    rs, hs = rng.uniform(0.25, 0.6), rng.uniform(0.25, 0.6)
    shade = o3d.geometry.TriangleMesh.create_cone(rs, hs, resolution=20)
    shade.rotate(shade.get_rotation_matrix_from_xyz((np.pi, 0, 0)), center=(0, 0, 0))  # opening downwards
    shade.translate((0, 0, hb + hp + hs * 0.6))
    return [
        (_cyl(rb, hb, 0, 0, hb / 2), "base"),
        (_cyl(rng.uniform(0.02, 0.05), hp, 0, 0, hb + hp / 2), "pole"),
        (shade, "shade"),
    ]


def mug(rng: np.random.Generator) -> list[Part]:
    import open3d as o3d

    r, h = rng.uniform(0.3, 0.5), rng.uniform(0.6, 1.2)
    body = _cyl(r, h, 0, 0, h / 2)
    hr = rng.uniform(0.15, 0.3) * h
    handle = o3d.geometry.TriangleMesh.create_torus(hr, rng.uniform(0.03, 0.06), 20, 8)
    handle.rotate(handle.get_rotation_matrix_from_xyz((np.pi / 2, 0, 0)), center=(0, 0, 0))  # ring in the x-z plane
    handle.translate((r + hr * 0.7, 0, rng.uniform(0.35, 0.65) * h))
    return [(body, "body"), (handle, "handle")]


def bed(rng: np.random.Generator) -> list[Part]:
    length, w, hl, t = rng.uniform(1.8, 2.4), rng.uniform(0.9, 1.8), rng.uniform(0.15, 0.35), rng.uniform(0.2, 0.35)
    parts: list[Part] = [(_box(w, length, t, 0, 0, hl + t / 2), "mattress")]
    hh = rng.uniform(0.4, 1.0)
    parts.append((_box(w, 0.08, hl + t + hh, 0, length / 2 + 0.04, (hl + t + hh) / 2), "headboard"))
    parts += [(m, "legs") for m in _legs(rng, int(rng.choice([4, 6])), w / 2 - 0.05, length / 2 - 0.05, hl, 0.04)]
    return parts


def shelf(rng: np.random.Generator) -> list[Part]:
    w, d, h, t = rng.uniform(0.6, 1.6), rng.uniform(0.25, 0.45), rng.uniform(1.0, 2.2), 0.04
    parts: list[Part] = [(_box(t, d, h, x, 0, h / 2), "sides") for x in (-w / 2, w / 2)]
    for z in np.linspace(t / 2, h - t / 2, int(rng.integers(2, 7))):
        parts.append((_box(w - t, d, t, 0, 0, z), "boards"))
    return parts


RECIPES: dict[str, Callable[[np.random.Generator], list[Part]]] = {
    "chair": chair,
    "table": table,
    "lamp": lamp,
    "mug": mug,
    "bed": bed,
    "shelf": shelf,
}


def sample_parts(parts: list[Part], category: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points with normals on ``parts`` (areas decide each part's share) and their global part labels.

    Returns ``(cloud (n, 6) float32 in the unit sphere, labels (n,) int64)``.
    """
    import open3d as o3d

    areas = np.array([m.get_surface_area() for m, _ in parts])
    counts = np.floor(areas / areas.sum() * n).astype(int)
    remainder = areas / areas.sum() * n - counts
    counts[np.argsort(-remainder)[: n - counts.sum()]] += 1
    clouds, labels = [], []
    for (mesh, name), k in zip(parts, counts):
        if k == 0:
            continue
        mesh.compute_triangle_normals()
        o3d.utility.random.seed(int(rng.integers(2**31)))
        pc = mesh.sample_points_uniformly(int(k), use_triangle_normal=True)
        clouds.append(np.concatenate([np.asarray(pc.points), np.asarray(pc.normals)], axis=1))
        labels.append(np.full(int(k), PART_NAMES.index(f"{category}/{name}")))
    cloud = np.concatenate(clouds)
    cloud[:, :3] = normalize_unit_sphere(cloud[:, :3])
    return cloud.astype(np.float32), np.concatenate(labels).astype(np.int64)


def make_shape(category: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One procedural shape of ``category``: ``(cloud (n, 6), part labels (n,))``."""
    if category not in RECIPES:
        raise ValueError(f"unknown procedural category {category!r}; known: {', '.join(CATEGORIES)}")
    return sample_parts(RECIPES[category](rng), category, n, rng)


def load_procedural_parts(
    num_points: int = 1024,
    per_category: tuple[int, int] = (40, 20),
    *,
    segments: int = 100,
    seed: int = 0,
    cache_dir: str | None = None,
    progress: bool = True,
) -> dict[str, datasets.Dataset]:
    """The procedural part set ``{"train", "test"}`` (``per_category`` = shapes per category per split), cached."""
    params = dict(
        num_points=num_points,
        per_category=list(per_category),
        segments=segments,
        seed=seed,
        categories=list(CATEGORIES),
        parts=list(PART_NAMES),
    )

    def build() -> tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]:
        cols: dict[str, dict[str, list[Any]]] = {}
        total = len(CATEGORIES) * sum(per_category)
        with progress_bar(f"procedural part shapes ({num_points} points)", total, progress) as advance:
            for s, (split, count) in enumerate(zip(("train", "test"), per_category)):
                rows: dict[str, list[Any]] = {"points": [], "label": [], "shape_id": [], "parts": []}
                for c, category in enumerate(CATEGORIES):
                    for i in range(count):
                        rng = np.random.default_rng([seed, s, c, i])
                        cloud, parts = make_shape(category, num_points, rng)
                        seg = farthest_point_segments(cloud[:, :3], segments).astype(np.float32)[:, None]
                        rows["points"].append(np.concatenate([cloud, seg], axis=1))
                        rows["label"].append(c)
                        rows["shape_id"].append(f"procedural/{split}/{category}/{i}")
                        rows["parts"].append(parts)
                        advance()
                cols[split] = rows
        return cols, {"splits": ["train", "test"], "classes": list(CATEGORIES), "parts": list(PART_NAMES)}

    splits, _ = load_or_build("procedural-parts", params, build, num_points, parts=True, root=cache_dir)
    return splits


__all__ = [
    "CATEGORIES",
    "CATEGORY_PARTS",
    "PARTS_OF",
    "PART_NAMES",
    "RECIPES",
    "load_procedural_parts",
    "make_shape",
    "sample_parts",
]
