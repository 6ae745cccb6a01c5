"""A modality with another stage order is one class attribute; the run key sees the order only where it
changes the views."""

from __future__ import annotations

import pytest
import torch
from blobs_modality import Blobs, ChannelFirstBlobs

from rqbench.augment.base import Stage
from rqbench.config import RunConfig
from rqbench.runner import Workspace, make_config, run


def test_the_modality_order_reaches_the_pipeline() -> None:
    batch = torch.randn(16, 4, 8)
    spec = "blobs-noise+rq(bins=2)"
    quantized_last = Blobs().pipeline(spec, torch.Generator().manual_seed(0)).views(batch, 1).queries[0]
    quantized_first = ChannelFirstBlobs().pipeline(spec, torch.Generator().manual_seed(0)).views(batch, 1).queries[0]
    assert len(torch.unique(quantized_last[0, 0])) <= 2  # noise, then RQ: two values per channel
    assert len(torch.unique(quantized_first[0, 0])) == 8  # RQ, then noise


def test_the_key_sees_the_order_only_when_it_changes_the_views() -> None:
    both = make_config("blobs-cf", "moco", "blobs-noise+rq(bins=2)")
    assert both.stage_order == ("channel", "view") and both.order == (Stage.CHANNEL, Stage.VIEW)
    default = RunConfig(both.modality, both.method, both.aug, both.preset, both.seed)
    assert both.key != default.key and "stage_order" in both.to_dict() and "stage_order" not in default.to_dict()
    assert RunConfig.from_dict(both.to_dict()).key == both.key
    for spec in ("blobs-noise", "rq(bins=2)", "none"):  # one stage: every order makes the same views
        assert make_config("blobs-cf", "moco", spec).stage_order is None
    assert make_config("blobs-cf", "moco", "blobs-noise+rq(bins=2)", pretrain=False).stage_order is None
    assert make_config("blobs", "moco", "blobs-noise+rq(bins=2)").stage_order is None
    with pytest.raises(ValueError, match="stage_order names stages"):
        RunConfig("blobs", "moco", "none", both.preset, stage_order=("view", "nosuch"))


def test_a_channel_first_modality_runs_end_to_end(tmp_path) -> None:
    cfg = make_config("blobs-cf", "moco", "blobs-noise+rq(bins=2)", epochs=1)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["protocol"]) == {"linear", "knn"} and (tmp_path / "runs" / cfg.key / "done.json").exists()
