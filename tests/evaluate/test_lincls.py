"""The lincls protocol: MoCo-v3's main_lincls.py recipe on a frozen network."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rqbench.drawn import Drawn
from rqbench.evaluate.lincls import _epoch_batches, cosine_epoch_lr, lincls
from rqbench.preset import EvalSettings


def test_cosine_rate_per_epoch_known_values() -> None:
    assert cosine_epoch_lr(0.4, 0, 90) == 0.4  # lr 0.1 x 1024 / 256 at epoch 0, no warm-up
    assert math.isclose(cosine_epoch_lr(0.4, 45, 90), 0.2)
    assert math.isclose(cosine_epoch_lr(0.4, 89, 90), 0.4 * 0.5 * (1 + math.cos(math.pi * 89 / 90)))


def test_reference_defaults() -> None:
    settings = EvalSettings()
    assert (settings.lincls_epochs, settings.lincls_lr, settings.lincls_batch_size) == (90, 0.1, 1024)
    assert (settings.lincls_momentum, settings.lincls_weight_decay) == (0.9, 0.0)


def test_epoch_batches_shuffle_every_epoch_and_keep_the_last_short_batch() -> None:
    first, second = _epoch_batches(10, 4, 0, 0), _epoch_batches(10, 4, 0, 1)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(k[-1] for b in first for k in b) == list(range(10))
    assert [k[-1] for b in first for k in b] != [k[-1] for b in second for k in b]
    assert all(k[:3] == (0, 1, 0) for b in first for k in b)  # (seed, lincls stream, epoch, i)


class Shift:
    """A random training view: the sample plus noise drawn from the key's generator."""

    def __call__(self, item, generator):
        x, y = item
        return x + 0.1 * torch.randn(x.shape, generator=generator), y


def test_lincls_trains_the_head_and_leaves_the_frozen_network_alone() -> None:
    torch.manual_seed(0)
    centres = torch.randn(3, 4) * 3
    labels = torch.arange(60) % 3
    data = centres[labels] + 0.3 * torch.randn(60, 4)
    items = list(zip(data, labels.tolist(), strict=True))
    encoder = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
    encoder.train()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    modes: list[bool] = []
    encoder.register_forward_hook(lambda m, i, o: modes.append(m.training))
    result = lincls(encoder, 8, 3, Drawn(items, Shift()), [(data, labels)], epochs=30, lr=0.5, batch_size=16, seed=0)
    assert result.accuracy > 90 and result.losses[-1] < result.losses[0]
    assert not any(modes)  # BatchNorm in eval mode throughout (main_lincls.py L348)
    for key, value in encoder.state_dict().items():  # parameters and BN statistics unchanged
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert encoder.training  # its mode is put back
    assert all(p.grad is None for p in encoder.parameters())


def test_head_init_is_the_reference_normal_0_01() -> None:
    encoder = nn.Identity()
    result = lincls(encoder, 2048, 1000, Drawn([(torch.zeros(2048), 0)], Shift()), [], epochs=0, seed=0)
    weight = result.head.weight
    assert abs(float(weight.detach().std()) - 0.01) < 2e-4 and abs(float(weight.detach().mean())) < 1e-4
    assert torch.count_nonzero(result.head.bias) == 0


def test_a_task_without_training_views_is_refused() -> None:
    from rqbench.evaluate.lincls import lincls_task
    from rqbench.modality import Task

    task = Task("t", [(torch.zeros(2), 0)], [(torch.zeros(2), 0)], 2)
    with pytest.raises(ValueError, match="needs random training views.*use the 'linear' protocol"):
        lincls_task(nn.Identity(), 2, type("M", (), {"name": "m"})(), task, None, 0, torch.device("cpu"))  # type: ignore[arg-type]


def test_a_preset_runs_one_linear_recipe_and_lincls_reports_as_linear() -> None:
    """lincls is the paper preset's recipe of the tables' linear column: a preset may not ask for both."""
    EvalSettings(protocols=("lincls", "knn"))
    with pytest.raises(ValueError, match="at most one linear-evaluation recipe"):
        EvalSettings(protocols=("linear", "lincls"))
