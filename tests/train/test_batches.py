"""The data order: global batches from the seed and epoch, shards per process, the loader serving them in order."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from rqbench.distributed import DistEnv
from rqbench.train.batches import (
    batch_loader,
    global_batches,
    local_batch_size,
    local_shards,
    stack_inputs,
    steps_per_epoch,
)


def test_shards_split_each_global_batch_in_rank_order() -> None:
    schedule = list(global_batches(16, 8, seed=0, start_step=0, total_steps=4))
    whole = [b.tolist() for _, _, b in schedule]
    ranks = [local_shards(schedule, 8, DistEnv(rank=r, world_size=2)) for r in range(2)]
    assert [a + b for a, b in zip(*ranks)] == whole
    assert local_shards(schedule, 8, DistEnv()) == whole


def test_batch_sizes_that_do_not_fit_are_refused() -> None:
    assert local_batch_size(8, DistEnv(world_size=4)) == 2
    with pytest.raises(ValueError, match="not divisible by 3 processes"):
        local_batch_size(8, DistEnv(world_size=3))
    with pytest.raises(ValueError, match="fewer than one batch"):
        steps_per_epoch(5, 8)


def test_the_loader_serves_the_shards_in_order_with_labels_dropped() -> None:
    data = TensorDataset(torch.arange(10.0).view(10, 1), torch.zeros(10))
    shards = [[3, 1], [0, 9]]
    got = [b.view(-1).tolist() for b in batch_loader(data, shards, num_workers=0, env=DistEnv())]
    assert got == [[3.0, 1.0], [0.0, 9.0]]
    assert stack_inputs([torch.ones(2), (torch.zeros(2), 1)]).tolist() == [[1.0, 1.0], [0.0, 0.0]]
