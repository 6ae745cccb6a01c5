"""Point-cloud data: bad input, procedural part labels, furniture catalog, deterministic cached builds."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from modalities.points.clouds import CloudWarning, check_cloud, farthest_point_segments, normalize_unit_sphere, resample
from modalities.points.furniture import DataUnavailableError, load_furniture, parse_properties, read_catalogs
from modalities.points.meshes import MeshLoadError, load_mesh, load_zipped_mesh
from modalities.points.procedural import (
    CATEGORIES,
    CATEGORY_PARTS,
    PART_NAMES,
    PARTS_OF,
    load_procedural_parts,
    make_shape,
)

HAVE_FURNITURE = Path("/usr/share/sweethome3d/furniture").is_dir()


def test_cloud_checks_and_resampling() -> None:
    cloud = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    bad = cloud.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_cloud(bad, "shape-x")
    with pytest.warns(CloudWarning, match="fewer than the 16 requested"):
        out = resample(cloud, 16, np.random.default_rng(0), "small")
    assert out.shape == (16, 6) and np.array_equal(out[:10], cloud)
    assert resample(cloud, 4, np.random.default_rng(0)).shape == (4, 6)
    xyz = normalize_unit_sphere(cloud[:, :3] * 5 + 3)
    assert np.linalg.norm(xyz, axis=1).max() == pytest.approx(1.0)
    seg = farthest_point_segments(cloud[:, :3], 3)
    assert set(seg.tolist()) == {0, 1, 2}


def test_mesh_load_errors(tmp_path: Path) -> None:
    with pytest.raises(MeshLoadError, match="does not exist"):
        load_mesh(tmp_path / "missing.obj")
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing\n")
    with pytest.raises(MeshLoadError, match="no triangles"):
        load_mesh(empty)
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x/empty.obj", "# nothing\n")
    with pytest.raises(MeshLoadError, match="a.zip"):
        load_zipped_mesh(archive, "/x/empty.obj")


def test_missing_catalog_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="apt-get install -y --no-install-recommends sweethome3d-furniture"):
        read_catalogs(tmp_path)


def test_properties_parser() -> None:
    props = parse_properties("# c\nname#1=Chaise \\u00e0 bascule\ncategory#1 = Living room\n")
    assert props == {"name#1": "Chaise à bascule", "category#1": "Living room"}


@pytest.mark.parametrize("category", CATEGORIES)
def test_procedural_shapes_have_every_part(category: str) -> None:
    for seed in range(3):
        cloud, parts = make_shape(category, 512, np.random.default_rng(seed))
        assert cloud.shape == (512, 6) and parts.shape == (512,)
        names = {PART_NAMES[p] for p in np.unique(parts)}
        assert names == {f"{category}/{p}" for p in CATEGORY_PARTS[category]}
        assert set(np.unique(parts)) <= set(PARTS_OF[CATEGORIES.index(category)])
        assert np.linalg.norm(cloud[:, :3], axis=1).max() == pytest.approx(1.0, abs=1e-5)


def test_procedural_chair_parts_are_where_they_belong() -> None:
    cloud, parts = make_shape("chair", 1024, np.random.default_rng(0))
    z = cloud[:, 2]
    seat, back, legs = (PART_NAMES.index(f"chair/{p}") for p in ("seat", "back", "legs"))
    assert z[parts == legs].mean() < z[parts == seat].mean() < z[parts == back].mean()


def test_procedural_build_is_deterministic(tmp_path: Path) -> None:
    a = load_procedural_parts(128, (1, 1), cache_dir=str(tmp_path / "a"), progress=False)
    b = load_procedural_parts(128, (1, 1), cache_dir=str(tmp_path / "b"), progress=False)
    assert np.array_equal(np.asarray(a["train"]["points"]), np.asarray(b["train"]["points"]))
    assert len(a["train"]) == len(CATEGORIES) and set(a["train"].column_names) >= {"points", "label", "parts"}


@pytest.mark.skipif(not HAVE_FURNITURE, reason="needs Debian sweethome3d-furniture")
def test_furniture_build_is_deterministic_and_cached(tmp_path: Path) -> None:
    a, classes = load_furniture(128, limit=12, min_count=2, cache_dir=tmp_path / "a", progress=False)
    b, _ = load_furniture(128, limit=12, min_count=2, cache_dir=tmp_path / "b", progress=False)
    assert np.array_equal(np.asarray(a["train"]["points"]), np.asarray(b["train"]["points"]))
    assert a["test"]["shape_id"] == b["test"]["shape_id"]
    assert len(a["train"]) + len(a["test"]) == 12
    pts = np.asarray(a["train"]["points"])
    assert pts.shape[1:] == (128, 7) and np.abs(pts[..., :3]).max() <= 1.0 + 1e-6
    assert pts[..., 6].max() < 100 and all(0 <= y < len(classes) for y in a["train"]["label"])
    entries = read_catalogs()
    assert len(entries) == 820 and len({e.category for e in entries}) == 12


def test_procedural_splits_have_equal_shape_counts_per_category(tmp_path: Path) -> None:
    # Table 7's note: equal test counts per category make C.mIoU equal to I.mIoU on this set.
    splits = load_procedural_parts(128, (2, 1), cache_dir=str(tmp_path), progress=False)
    for split, count in (("train", 2), ("test", 1)):
        labels = np.asarray(splits[split]["label"])
        assert np.bincount(labels, minlength=len(CATEGORIES)).tolist() == [count] * len(CATEGORIES)
