"""Real end-to-end runs of the points modality: tiny (CI) and the quick preset (slow)."""

from pathlib import Path

import pytest
import torch

from modalities.points.modality import PointClouds
from rqbench.modality import MODALITIES
from rqbench.runner import Workspace, make_config, run
from rqbench.train.loop import pretrain

HAVE_FURNITURE = Path("/usr/share/sweethome3d/furniture").is_dir()
pytestmark = pytest.mark.skipif(not HAVE_FURNITURE, reason="needs Debian sweethome3d-furniture")

TINY = dict(
    epochs=1,
    batch_size=8,
    checkpoint_every=2,
    backbone={"name": "octree-unet", "depth": 4, "channels": (8, 16), "point_dim": 8},
    data={
        "source": "furniture",
        "points": 128,
        "source_options": {"limit": 40, "min_count": 2},
        "pretrain_samples": 16,
        "tasks": ("furniture", "procedural_parts"),
        "parts_per_category": (2, 1),
    },
    eval={
        "protocols": ("linear", "finetune", "linear_seg", "finetune_seg"),
        "label_fractions": (0.5, 1.0),
        "seg_label_fractions": (1.0,),
        "linear_epochs": 5,
        "finetune_epochs": 1,
        "seg_linear_epochs": 2,
        "batch_size": 8,
    },
)


def test_registered() -> None:
    assert MODALITIES.get("points") is PointClouds


def test_tiny_midnet_rq_run(cache_env: str, tmp_path: Path) -> None:
    cfg = make_config("points", "midnet", "pts_base+rq(bins=30)", "quick", seed=0, **TINY)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    got = {(r.dataset, r.protocol, r.label_fraction, r.metric) for r in rows.itertuples()}
    assert ("furniture", "linear", 0.5, "top1") in got and ("furniture", "finetune", 1.0, "top1") in got
    assert ("procedural_parts", "linear_seg", 1.0, "c_miou") in got and (
        "procedural_parts",
        "finetune_seg",
        1.0,
        "i_miou",
    ) in got
    assert rows["value"].between(0, 100).all()
    state = torch.load(tmp_path / "runs" / cfg.key / "checkpoint.pt", weights_only=False)
    assert state["method"]["shape_bank"].shape[0] == 16  # the banks are checkpointed


def test_resume_is_bit_identical_with_banks(cache_env: str, tmp_path: Path) -> None:
    cfg = make_config("points", "midnet", "pts_base+rq(bins=30)", "quick", seed=1, **{**TINY, "epochs": 2})
    modality = PointClouds()
    full = pretrain(cfg, modality, tmp_path / "full", progress=False).method
    pretrain(cfg, modality, tmp_path / "cut", progress=False, max_steps=2)
    resumed = pretrain(cfg, modality, tmp_path / "cut", progress=False).method
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("method", ["moco", "byol"])
def test_moco_and_byol_work_on_points(cache_env: str, tmp_path: Path, method: str) -> None:
    cfg = make_config("points", method, "rq(bins=30)", "quick", seed=0, **TINY)
    result = pretrain(cfg, PointClouds(), tmp_path, progress=False, max_steps=1)
    assert result.steps == 1


@pytest.mark.slow
def test_quick_preset_run(tmp_path: Path) -> None:
    cfg = make_config("points", "midnet", "pts_base+rq(bins=30)", "quick", seed=0)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["dataset"]) == {"furniture", "procedural_parts"}
    assert len(rows) == 2 * 6 + 2 * 2 * 3


def test_show_writes_png(cache_env: str, tmp_path: Path) -> None:
    preset = PointClouds().preset("quick").with_overrides(data=TINY["data"])
    path = PointClouds().show(preset, ["pts_base", "pts_base+rq(bins=30)"], 2, tmp_path / "points.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
