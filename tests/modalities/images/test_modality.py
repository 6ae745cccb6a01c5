"""The images modality through rqbench's interface: data, views, backbone, presets, pictures, CLI."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from modalities.images import Images
from modalities.images.data import DataUnavailableError, load_images
from rqbench.cli import app
from rqbench.modality import MODALITIES
from rqbench.runner import Workspace, make_config, run
from rqbench.train import pretrain

FMNIST = pytest.mark.skipif(
    not __import__("pathlib").Path("/usr/share/datasets/fashion-mnist").exists(),
    reason="needs Debian dataset-fashion-mnist (./setup.sh installs it)",
)
TINY = {
    "epochs": 1,
    "batch_size": 64,
    "data": {
        "source": "fashion-mnist",
        "pretrain_samples": 256,
        "eval_train_samples": 500,
        "eval_test_samples": 200,
        "size": 28,
    },
    "eval": {"linear_epochs": 20, "knn_k": 20},
}


def test_registered_through_the_entry_point() -> None:
    assert MODALITIES.get("images") is Images
    assert set(Images.presets) == {"quick", "paper"}


@FMNIST
def test_quick_preset_data_and_backbone() -> None:
    modality, preset = Images(), Images.presets["quick"]
    pre = modality.pretrain_dataset(preset)
    assert len(pre) == preset.data["pretrain_samples"]
    x, _ = pre[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1
    (task,) = modality.tasks(preset)
    assert preset.data["eval_test_samples"] is None  # the full Fashion-MNIST test set (issue 16)
    assert task.name == "fashion-mnist" and task.num_classes == 10 and len(task.test) == 10_000
    net, dim = modality.backbone(preset)
    assert net(torch.rand(4, 1, 28, 28)).shape == (4, dim)
    # the backbone standardizes its input with the training images' statistics
    assert abs(float(net.mean) - 0.286) < 0.02 and abs(float(net.std) - 0.353) < 0.02


@FMNIST
def test_views_are_per_view_and_asymmetric() -> None:
    modality, preset = Images(), Images.presets["quick"]
    data = modality.pretrain_dataset(preset)
    batch = torch.stack([data[i][0] for i in range(64)])
    pipeline = modality.pipeline("full", torch.Generator())
    torch.manual_seed(0)
    v0, v1 = pipeline.views(batch, 2).queries
    assert v0.shape == batch.shape and not torch.equal(v0, v1)
    assert modality.eval_view(batch, preset) is batch  # 28 px: centre crop at full size is the identity


@FMNIST
def test_end_to_end_quick_run_beats_chance(tmp_path) -> None:
    """A real (tiny) pretraining + evaluation on Fashion-MNIST through the runner."""
    cfg = make_config("images", "moco", "rrc+rq(bins=8)", "quick", 0, True, **TINY)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["protocol"]) == {"linear", "knn"} and set(rows["dataset"]) == {"fashion-mnist"}
    assert (rows["value"] > 30).all()  # 10 classes: chance is 10 %
    stored = pd.read_csv(tmp_path / "results.csv")
    assert len(stored) == len(rows) and (stored["backbone"] == "small-resnet").all()


def test_paper_preset_runs_its_first_steps_on_a_fake_stand_in(tmp_path) -> None:
    """The paper preset (ResNet-50, LARS, heads 4096 -> 256, 224 px) unchanged but for a fake,
    right-shaped dataset and a batch that fits this CPU: two real optimizer steps."""
    cfg = make_config(
        "images", "moco", "rrc+rq(bins=8)", "paper", 0, True,
        batch_size=4,
        data={"source": "fake", "size": 224, "channels": 3, "num_classes": 1000, "train_size": 16, "test_size": 8},
    )  # fmt: skip
    assert cfg.preset.optimizer == "lars" and cfg.preset.backbone["name"] == "resnet50"
    result = pretrain(cfg, Images(), tmp_path, progress=False, max_steps=2)
    assert result.steps == 2 and result.method.feature_dim == 2048
    log = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(log) == 2


@FMNIST
def test_show_writes_a_picture(tmp_path) -> None:
    out = tmp_path / "views.png"
    result = CliRunner().invoke(
        app, ["show", "images", "--aug", "rq(bins=2)", "--aug", "cj(p=1.0)", "--n", "4", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(app, ["show", "images", "--aug", "rqq", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown augmentation 'rqq'" in bad.output


def test_missing_data_package_names_the_install_command(tmp_path) -> None:
    with pytest.raises(DataUnavailableError, match="apt-get install -y --no-install-recommends dataset-fashion-mnist"):
        load_images("fashion-mnist", root=str(tmp_path / "absent"), cache_dir=tmp_path / "cache")
