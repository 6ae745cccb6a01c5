"""Checkpoints: atomic, keyed by config."""

from __future__ import annotations

import pytest
import torch

from rqbench.train.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint


def test_round_trip_and_mismatch(tmp_path) -> None:
    path = tmp_path / "ck.pt"
    assert load_checkpoint(path, "abc") is None
    save_checkpoint(path, {"config_key": "abc", "w": torch.arange(3)})
    assert torch.equal(load_checkpoint(path, "abc")["w"], torch.arange(3))
    with pytest.raises(CheckpointMismatchError, match="written by config 'abc', not 'xyz'"):
        load_checkpoint(path, "xyz")
    with pytest.raises(ValueError, match="config_key"):
        save_checkpoint(path, {"w": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
