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
    stack_views,
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


class _Views(torch.utils.data.Dataset):
    """Item ``i``: ``(2, 3)`` uint8 views, view ``v`` filled with ``10 * i + v``."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.stack([torch.full((3,), 10 * i + v, dtype=torch.uint8) for v in range(2)])


def _shared_when_made(items: list[torch.Tensor]) -> tuple[torch.Tensor, bool, bool]:
    """Both collates, and whether each batch was in shared memory where the worker made it."""
    views, inputs = stack_views(items), stack_inputs(items)
    return views, views.is_shared(), inputs.is_shared()


@pytest.mark.parametrize("workers", [0, 1])
def test_views_are_batched_view_by_view_in_shared_memory_from_a_worker(workers: int) -> None:
    (batch,) = list(batch_loader(_Views(), [[3, 0, 2]], num_workers=workers, env=DistEnv(), collate=stack_views))
    assert batch.shape == (3, 2, 3) and batch.dtype == torch.uint8
    assert batch[:, :, 0].tolist() == [[30, 31], [0, 1], [20, 21]]
    assert batch[:, 0].is_contiguous() and batch[:, 1].is_contiguous()  # each view: no copy before the stages
    # A worker writes its batch straight into shared memory (no copy on the way out), as default_collate does.
    loader = torch.utils.data.DataLoader(
        _Views(), batch_sampler=[[1, 2]], num_workers=workers, collate_fn=_shared_when_made
    )
    ((views, views_shared, inputs_shared),) = list(loader)
    assert views_shared == inputs_shared == (workers > 0)
    assert torch.equal(views, torch.stack([_Views()[1], _Views()[2]]))
