"""A tiny modality for tests: Gaussian clusters laid out as (B, 4 channels, 8 positions).

It exists so the trainer, evaluation, results store and tables can be tested end to end
before (and independently of) the real modalities.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from rqbench.augment import register_augmentation
from rqbench.augment.base import Augmentation, ChannelLayout, Stage
from rqbench.modality import MODALITIES, Modality, Task
from rqbench.preset import EvalSettings, Preset
from rqbench.tables import TABLES, ColumnSpec, RowSpec, TableSpec
from rqbench.tables.setting import SETTINGS, PaperSetting, register_setting

CHANNELS, LENGTH, CLASSES = 4, 8, 4
HEADS = {"proj_hidden": 64, "proj_dim": 16, "pred_hidden": 64}


def make_blobs(n: int, seed: int, noise: float = 1.0) -> tuple[Tensor, Tensor]:
    """``n`` samples of ``CLASSES`` Gaussian clusters (fixed centres, spread ``noise``), shaped (n, 4, 8)."""
    centres = torch.randn(CLASSES, CHANNELS, LENGTH, generator=torch.Generator().manual_seed(1234)) * 2.0
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    x = centres[labels] + noise * torch.randn(n, CHANNELS, LENGTH, generator=gen)
    return x, labels


class Blobs(Modality):
    """Gaussian clusters (test modality)."""

    name = "blobs"
    layout = ChannelLayout(channel_dim=1, batch_dims=1)
    presets: ClassVar[dict[str, Preset]] = {
        "quick": Preset(
            name="quick",
            epochs=2,
            batch_size=32,
            optimizer="adamw",
            lr=2e-3,
            lr_scaling=False,
            methods={"moco": {**HEADS, "temperature": 0.2}, "byol": HEADS},
            data={"n": 256},
            checkpoint_every=4,
            eval=EvalSettings(
                protocols=("linear", "knn"), label_fractions=(0.1, 1.0), linear_epochs=30, knn_k=20, batch_size=64
            ),
        ),
        "tiny": Preset(  # a few seconds a run: for end-to-end tests of many runs (rqbench compare)
            name="tiny",
            epochs=1,
            batch_size=32,
            optimizer="adamw",
            lr=2e-3,
            lr_scaling=False,
            methods={"moco": {**HEADS, "temperature": 0.2}, "byol": HEADS},
            data={"n": 96, "noise": 6.0},  # overlapping clusters: accuracies below 100 %
            checkpoint_every=4,
            eval=EvalSettings(
                protocols=("linear", "knn"), label_fractions=(1.0,), linear_epochs=3, knn_k=5, batch_size=64
            ),
        ),
    }

    def pretrain_dataset(self, preset: Preset) -> Dataset:
        return TensorDataset(make_blobs(preset.data["n"], 0, preset.data.get("noise", 1.0))[0])

    def tasks(self, preset: Preset) -> list[Task]:
        noise = preset.data.get("noise", 1.0)
        train, test = make_blobs(preset.data["n"], 0, noise), make_blobs(128, 1, noise)
        return [Task("blobs", TensorDataset(*train), TensorDataset(*test), CLASSES)]

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        width = preset.backbone.get("width", 32)
        return nn.Sequential(nn.Flatten(), nn.Linear(CHANNELS * LENGTH, 64), nn.ReLU(), nn.Linear(64, width)), width


@register_augmentation("blobs-noise")
class BlobsNoise(Augmentation):
    """Gaussian noise of standard deviation ``std``: the blobs' base view (test modality)."""

    stage = Stage.VIEW

    def __init__(self, std: float = 0.3, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.std = std
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return x + self.std * torch.randn(x.shape, generator=self.generator)


MODALITIES.register("blobs")(Blobs)


class ChannelFirstBlobs(Blobs):
    """Blobs whose channel stage runs before its views, as BYOL-A's audio pipeline (test modality)."""

    name = "blobs-cf"
    stage_order = (Stage.CHANNEL, Stage.VIEW)


MODALITIES.register("blobs-cf")(ChannelFirstBlobs)

BLOBS_TABLE = TableSpec(
    name="blobs-table",
    title="Blobs: RQ vs none (test table)",
    modality="blobs",
    row_header="augmentation",
    rows=(
        RowSpec("scratch", pretrain=False),
        RowSpec("none", method="moco", aug="none"),
        RowSpec("RQ", method="moco", aug="rq(bins=4)"),
    ),
    columns=(
        ColumnSpec("linear top1", protocol="linear"),
        ColumnSpec("10% linear top1", protocol="linear", label_fraction=0.1),
        ColumnSpec("kNN top1", protocol="knn"),
    ),
)
if "blobs-table" not in TABLES:
    TABLES.register("blobs-table")(BLOBS_TABLE)

for _name in ("blobs", "blobs-cf"):  # where `rqbench compare` puts an augmentation on the blobs
    if _name not in SETTINGS:
        register_setting(
            PaperSetting(
                _name, "moco", "blobs-noise", "rq(bins=4)", ("none", "rq(bins=4)"),
                (ColumnSpec("linear top1", protocol="linear"), ColumnSpec("kNN top1", protocol="knn")),
                "linear top1", source="the blobs test table",
            )
        )  # fmt: skip


def negate_plugin(path, name: str = "negate", summary: str = "Flip the sign of every value."):
    """Write the README's one-file ``negate`` augmentation plugin (registered as ``name``) to ``path``."""
    path.write_text(
        "from rqbench.augment import Augmentation, Stage, register_augmentation\n\n\n"
        f"@register_augmentation({name!r})\n"
        "class Negate(Augmentation):\n"
        f'    """{summary}"""\n\n'
        "    stage = Stage.CHANNEL\n\n"
        "    def forward(self, x):\n"
        "        return -x\n"
    )
    return path
