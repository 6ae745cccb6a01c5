"""Gathered keys across two CPU processes (gloo): the ranks' mean loss equals the full-batch loss."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rqbench.augment.base import MixInfo
from rqbench.distributed import gather_keys
from rqbench.methods.losses import moco_contrastive_loss

WORLD = 2
N_LOCAL = 4
T = 0.2

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed with gloo"
)


def _worker(
    rank: int, init_file: str, out_dir: str, q: torch.Tensor, k: torch.Tensor, partner: torch.Tensor, lam: torch.Tensor
) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback only
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD, timeout=timedelta(seconds=30)
    )
    try:
        local = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
        k_all, r = gather_keys(k[local])
        assert r == rank
        assert torch.equal(k_all, k), "gathered keys are all ranks' keys in rank order"
        plain = moco_contrastive_loss(q[local], k[local], T)
        mixed = moco_contrastive_loss(q[local], k[local], T, MixInfo(partner[local], lam[local]))
        torch.save({"plain": plain, "mixed": mixed}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_gathered_moco_loss_matches_single_process(tmp_path):
    g = torch.Generator().manual_seed(0)
    n = WORLD * N_LOCAL
    q = torch.randn(n, 5, generator=g, dtype=torch.float64)
    k = torch.randn(n, 5, generator=g, dtype=torch.float64)
    # i-Mix partners are local to each rank's batch.
    partner_local = torch.cat([torch.randperm(N_LOCAL, generator=g) for _ in range(WORLD)])
    lam = torch.rand(n, generator=g, dtype=torch.float64)

    ctx = mp.start_processes(
        _worker,
        args=(str(tmp_path / "store"), str(tmp_path), q, k, partner_local, lam),
        nprocs=WORLD,
        join=False,
        start_method="spawn",
    )
    deadline = time.monotonic() + 60
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail("distributed workers did not finish in 60 s")

    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    full_plain = moco_contrastive_loss(q, k, T)
    partner_global = partner_local + torch.arange(WORLD).repeat_interleave(N_LOCAL) * N_LOCAL
    full_mixed = moco_contrastive_loss(q, k, T, MixInfo(partner_global, lam))
    mean_plain = sum(r["plain"] for r in results) / WORLD
    mean_mixed = sum(r["mixed"] for r in results) / WORLD
    assert abs(mean_plain.item() - full_plain.item()) < 1e-6
    assert abs(mean_mixed.item() - full_mixed.item()) < 1e-6
    # and the per-rank losses really use other ranks' keys as negatives
    local_only = moco_contrastive_loss(q[:N_LOCAL], k[:N_LOCAL], T)
    assert abs(results[0]["plain"].item() - local_only.item()) > 1e-3


def test_single_process_helpers_are_identities() -> None:
    from torch import nn

    from rqbench.distributed import DistEnv, gather_objects, global_mean, wrap_ddp

    env = DistEnv()
    assert global_mean(torch.tensor(2.5), env) == 2.5
    assert gather_objects(env, {"a": 1}) == [{"a": 1}]
    module = nn.Linear(2, 2)
    assert wrap_ddp(module, env) is module and not env.distributed and env.is_main
