"""evaluate_segmentation: the rows it writes carry C.mIoU and I.mIoU under their own metric names."""

from dataclasses import replace

import pytest
import torch
from blobs_modality import Blobs
from torch import nn
from torch.utils.data import TensorDataset

from rqbench.evaluate.seg_protocol import evaluate_segmentation
from rqbench.modality import Task
from rqbench.preset import EvalSettings

PARTS_OF = {0: (0, 1), 1: (2, 3)}
POINTS = 32


def shapes(per_category: tuple[int, int], seed: int) -> TensorDataset:
    """Category 0: features one-hot in the part label (separable); category 1: every point at the
    origin with half its points in part 2 and half in part 3 (one prediction for all its points,
    so its IoU is (1/2 + 0) / 2 = 1/4 whichever part is predicted)."""
    g = torch.Generator().manual_seed(seed)
    xs, ys, cs = [], [], []
    for cat, count in enumerate(per_category):
        for _ in range(count):
            if cat == 0:
                y = torch.randint(0, 2, (POINTS,), generator=g)
                x = nn.functional.one_hot(y, 4).float() * 3 + 0.1 * torch.randn(POINTS, 4, generator=g)
            else:
                y = torch.tensor([2, 3]).repeat_interleave(POINTS // 2)
                x = torch.zeros(POINTS, 4)
            xs.append(x)
            ys.append(y)
            cs.append(cat)
    return TensorDataset(torch.stack(xs), torch.stack(ys), torch.tensor(cs))


class PointEncoder(nn.Module):
    point_feature_dim = 4

    def point_features(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1)


def test_rows_carry_class_and_instance_miou_separately() -> None:
    # Test shapes: 3 of category 0 (IoU 1 each), 1 of category 1 (IoU 1/4):
    # I.mIoU = (3 + 1/4) / 4 = 81.25 %, C.mIoU = (1 + 1/4) / 2 = 62.5 %.
    task = Task("parts", shapes((4, 4), 0), shapes((3, 1), 1), 4, kind="segmentation", parts_of=PARTS_OF)
    blobs = Blobs()
    settings = EvalSettings(
        protocols=("linear_seg",), seg_label_fractions=(1.0,), seg_linear_epochs=30, linear_lr=1e-2, batch_size=4
    )
    preset = replace(blobs.presets["quick"], eval=settings)
    rows = evaluate_segmentation(PointEncoder(), blobs, task, preset, seed=0, device=torch.device("cpu"))
    got = {(r["dataset"], r["protocol"], r["label_fraction"], r["metric"]): r["value"] for r in rows}
    assert set(got) == {("parts", "linear_seg", 1.0, "c_miou"), ("parts", "linear_seg", 1.0, "i_miou")}
    assert got[("parts", "linear_seg", 1.0, "c_miou")] == pytest.approx(62.5)
    assert got[("parts", "linear_seg", 1.0, "i_miou")] == pytest.approx(81.25)
