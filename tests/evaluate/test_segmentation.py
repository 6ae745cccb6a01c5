"""Tests for rqbench.evaluate.segmentation: ShapeNet-Part class and instance mIoU."""

from __future__ import annotations

import pytest
import torch

from rqbench.evaluate import SegmentationResult, part_miou, shape_iou

PARTS = {"airplane": [0, 1, 2], "mug": [3, 4]}

# Shape 1, airplane (parts 0, 1, 2):
#   gt   = [0, 0, 1, 1, 2, 2]
#   pred = [0, 0, 1, 2, 2, 2]
#   part 0: pred {0,1},   gt {0,1}   -> 2 / 2 = 1
#   part 1: pred {2},     gt {2,3}   -> 1 / 2
#   part 2: pred {3,4,5}, gt {4,5}   -> 2 / 3
#   IoU = (1 + 1/2 + 2/3) / 3 = 13/18
# Shape 2, airplane; part 2 is in neither prediction nor ground truth, so it counts as 1:
#   gt   = [0, 0, 0, 1]
#   pred = [0, 1, 1, 1]
#   part 0: pred {0},     gt {0,1,2} -> 1 / 3
#   part 1: pred {1,2,3}, gt {3}     -> 1 / 3
#   part 2: absent from both         -> 1
#   IoU = (1/3 + 1/3 + 1) / 3 = 5/9
# Shape 3, mug (parts 3, 4); the prediction 0 (an airplane part) is wrong for every mug part:
#   gt   = [3, 3, 4, 4]
#   pred = [3, 4, 4, 0]
#   part 3: pred {0},   gt {0,1} -> 1 / 2
#   part 4: pred {1,2}, gt {2,3} -> 1 / 3
#   IoU = (1/2 + 1/3) / 2 = 5/12
# I.mIoU = (13/18 + 5/9 + 5/12) / 3 = 61/108
# airplane = (13/18 + 5/9) / 2 = 23/36, mug = 5/12; C.mIoU = (23/36 + 5/12) / 2 = 19/36
PREDS = [torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 1]), torch.tensor([3, 4, 4, 0])]
TARGETS = [torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([0, 0, 0, 1]), torch.tensor([3, 3, 4, 4])]
CATEGORIES = ["airplane", "airplane", "mug"]


def test_hand_worked_example() -> None:
    result = part_miou(PREDS, TARGETS, CATEGORIES, PARTS)
    assert isinstance(result, SegmentationResult)
    assert result.i_miou == pytest.approx(100 * 61 / 108, abs=1e-6)
    assert result.c_miou == pytest.approx(100 * 19 / 36, abs=1e-6)
    assert result.per_category["airplane"] == pytest.approx(100 * 23 / 36, abs=1e-6)
    assert result.per_category["mug"] == pytest.approx(100 * 5 / 12, abs=1e-6)


def test_shape_iou_per_shape() -> None:
    assert shape_iou(PREDS[0], TARGETS[0], PARTS["airplane"]) == pytest.approx(13 / 18)
    assert shape_iou(PREDS[1], TARGETS[1], PARTS["airplane"]) == pytest.approx(5 / 9)
    assert shape_iou(PREDS[2], TARGETS[2], PARTS["mug"]) == pytest.approx(5 / 12)


def test_absent_parts_count_as_one() -> None:
    # Perfect prediction using only part 0 of a 4-part category: parts 1-3 absent -> IoU 1 each.
    t = torch.zeros(10, dtype=torch.long)
    assert shape_iou(t, t, [0, 1, 2, 3]) == 1.0
    # Wrong on part 0 entirely (predicts 1): part 0 -> 0, part 1 -> 0, parts 2, 3 -> 1: mean 1/2.
    assert shape_iou(torch.ones(10, dtype=torch.long), t, [0, 1, 2, 3]) == 0.5


def test_integer_categories_and_multi_dim_points() -> None:
    preds = [p.view(2, -1) for p in PREDS]
    targets = [t.view(2, -1) for t in TARGETS]
    result = part_miou(preds, targets, [7, 7, 9], {7: (0, 1, 2), 9: (3, 4)})
    assert result.c_miou == pytest.approx(100 * 19 / 36, abs=1e-6)
    assert set(result.per_category) == {7, 9}


def test_single_category_c_equals_i() -> None:
    result = part_miou(PREDS[:2], TARGETS[:2], CATEGORIES[:2], PARTS)
    assert result.c_miou == pytest.approx(result.i_miou) == pytest.approx(100 * 23 / 36)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="lengths 3, 2 and 3"):
        part_miou(PREDS, TARGETS[:2], CATEGORIES, PARTS)
    with pytest.raises(ValueError, match=r"preds\[1\] has shape \(4,\) but targets\[1\] has shape \(3,\)"):
        part_miou(PREDS, [TARGETS[0], TARGETS[1][:3], TARGETS[2]], CATEGORIES, PARTS)
    with pytest.raises(ValueError, match="'car' is not a key of parts_of"):
        part_miou(PREDS, TARGETS, ["airplane", "car", "mug"], PARTS)
    with pytest.raises(TypeError, match=r"preds\[0\] must hold integer part labels"):
        part_miou([PREDS[0].float()], TARGETS[:1], CATEGORIES[:1], PARTS)
    with pytest.raises(ValueError, match="no shapes"):
        part_miou([], [], [], PARTS)
    with pytest.raises(ValueError, match="shape 0 has no points"):
        part_miou([torch.tensor([], dtype=torch.long)], [torch.tensor([], dtype=torch.long)], ["mug"], PARTS)
    with pytest.raises(ValueError, match="lists a part twice"):
        part_miou(PREDS[:1], TARGETS[:1], CATEGORIES[:1], {"airplane": [0, 0, 1]})
    with pytest.raises(ValueError, match="is empty"):
        part_miou(PREDS[:1], TARGETS[:1], CATEGORIES[:1], {"airplane": []})
    with pytest.raises(TypeError, match="preds must be a sequence"):
        part_miou(torch.stack([TARGETS[1]]), TARGETS[1:2], CATEGORIES[:1], PARTS)


# Two categories, A (parts 0, 1) and B (parts 2, 3), points of two labels each:
PERFECT_A = (torch.tensor([0, 1]), torch.tensor([0, 1]))  # IoU 1
HALF_A = (torch.tensor([0, 0]), torch.tensor([0, 1]))  # part 0: 1/2, part 1: 0/1 -> IoU 1/4
PERFECT_B = (torch.tensor([2, 3]), torch.tensor([2, 3]))  # IoU 1
SWAPPED_B = (torch.tensor([3, 2]), torch.tensor([2, 3]))  # parts 2, 3: 0/2 each -> IoU 0
AB_PARTS = {"A": (0, 1), "B": (2, 3)}


def _miou(shapes: list[tuple[torch.Tensor, torch.Tensor]], cats: list[str]) -> SegmentationResult:
    return part_miou([p for p, _ in shapes], [t for _, t in shapes], cats, AB_PARTS)


def test_unequal_shape_counts_weigh_categories_and_shapes_differently() -> None:
    # 3 perfect A shapes, 1 swapped B shape: I.mIoU = (1 + 1 + 1 + 0) / 4 = 3/4;
    # C.mIoU = (mean A = 1, mean B = 0) / 2 = 1/2. PointNet++ part_seg/evaluate.py prints both:
    # the mean of the per-category means (l. 182, 184) and the mean over all shapes (l. 191).
    result = _miou([PERFECT_A] * 3 + [SWAPPED_B], ["A"] * 3 + ["B"])
    assert result.i_miou == pytest.approx(75.0)
    assert result.c_miou == pytest.approx(50.0)
    assert result.per_category == pytest.approx({"A": 100.0, "B": 0.0})


def test_equal_shape_counts_make_c_equal_to_i() -> None:
    # Two shapes per category, all IoUs different: A = (1 + 1/4) / 2 = 5/8, B = (0 + 1) / 2 = 1/2;
    # C.mIoU = (5/8 + 1/2) / 2 = 9/16 = (1 + 1/4 + 0 + 1) / 4 = I.mIoU: with n shapes in each
    # category, mean_c (1/n) sum_{s in c} = (1/(C n)) sum_s, whatever the IoUs (the procedural
    # part set of the points modality has the same number of test shapes in every category).
    result = _miou([PERFECT_A, HALF_A, SWAPPED_B, PERFECT_B], ["A", "A", "B", "B"])
    assert result.per_category == pytest.approx({"A": 62.5, "B": 50.0})
    assert result.c_miou == pytest.approx(56.25) and result.i_miou == pytest.approx(56.25)
    # One more B shape breaks the balance: I = (9/4 + 1) / 5 = 13/20, C = (5/8 + 2/3) / 2 = 31/48.
    result = _miou([PERFECT_A, HALF_A, SWAPPED_B, PERFECT_B, PERFECT_B], ["A", "A", "B", "B", "B"])
    assert result.i_miou == pytest.approx(65.0) and result.c_miou == pytest.approx(100 * 31 / 48)
