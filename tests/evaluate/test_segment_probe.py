"""Segmentation protocols: category-restricted arg-max, the two-layer probe, fine-tuning."""

import pytest
import torch
from torch import nn

from rqbench.evaluate.segment_probe import category_argmax, finetune_seg, linear_seg, point_features

PARTS_OF = {0: (0, 1), 1: (2, 3)}


def synthetic(n_shapes: int, seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor], list[int]]:
    """Point features one-hot-ish in their part label (separable), two categories."""
    g = torch.Generator().manual_seed(seed)
    feats, labels, cats = [], [], []
    for s in range(n_shapes):
        cat = s % 2
        y = torch.tensor(PARTS_OF[cat])[torch.randint(0, 2, (32,), generator=g)]
        feats.append(nn.functional.one_hot(y, 4).float() * 3 + 0.1 * torch.randn(32, 4, generator=g))
        labels.append(y)
        cats.append(cat)
    return feats, labels, cats


def test_category_argmax_ignores_other_categories() -> None:
    logits = torch.tensor([[0.0, 1.0, 9.0, 0.0], [2.0, 1.0, 0.0, 9.0]])
    assert category_argmax(logits, (0, 1)).tolist() == [1, 0]


def test_linear_seg_separable_is_perfect() -> None:
    result = linear_seg(synthetic(8, 0), synthetic(4, 1), PARTS_OF, 4, epochs=30, lr=1e-2, seed=0)
    assert result.c_miou == pytest.approx(100.0) and result.i_miou == pytest.approx(100.0)


class PointEncoder(nn.Module):
    point_feature_dim = 4

    def point_features(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1)


def test_point_features_and_finetune() -> None:
    feats, labels, cats = synthetic(8, 0)
    batches = [
        (torch.stack(feats[i : i + 4]), torch.stack(labels[i : i + 4]), torch.tensor(cats[i : i + 4])) for i in (0, 4)
    ]
    f, _y, c = point_features(PointEncoder(), batches)
    assert len(f) == 8 and f[0].shape == (32, 4) and c == cats
    result = finetune_seg(PointEncoder(), 4, 4, lambda epoch: batches, batches, PARTS_OF, epochs=30, lr=1e-2, seed=0)
    assert result.i_miou > 90
    with pytest.raises(TypeError, match="point_features"):
        point_features(nn.Linear(2, 2), batches)
