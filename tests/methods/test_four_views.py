"""A method with four views is one file: a class with ``num_views = 4``; the trainer follows it."""

from __future__ import annotations

import itertools
import json

import torch
from blobs_modality import HEADS, Blobs
from torch import nn

from rqbench.augment.views import Views
from rqbench.config import RunConfig
from rqbench.methods import METHODS, MoCoV3
from rqbench.train.loop import METRICS, pretrain

if "moco4" not in METHODS:

    @METHODS.register("moco4")
    class FourViewMoCo(MoCoV3):
        """MoCo-v3 over four views: every query against the keys of the three others (tests only)."""

        num_views = 4


def test_moco_loss_over_four_views_is_the_sum_of_its_twelve_ordered_pairs() -> None:
    torch.manual_seed(0)
    model = METHODS.get("moco4")(nn.Linear(6, 8), 8, proj_hidden=16, proj_dim=4, pred_hidden=16).eval()
    xs = [torch.randn(5, 6) for _ in range(4)]
    got = model(Views.of(*xs))
    with torch.no_grad():
        k = [model.key(x) for x in xs]
    expected = sum(model.pair_loss(model.query(xs[i]), k[j], None) for i, j in itertools.permutations(range(4), 2))
    torch.testing.assert_close(got, expected)


def test_the_trainer_makes_four_views_for_it(tmp_path) -> None:
    preset = Blobs.presets["quick"].with_overrides(epochs=1, methods={"moco4": HEADS})
    result = pretrain(RunConfig("blobs", "moco4", "blobs-noise+rq(bins=4)", preset), Blobs(), tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / METRICS).read_text().splitlines()]
    assert result.steps == len(log) == 8 and all(r["loss"] > 0 for r in log)
