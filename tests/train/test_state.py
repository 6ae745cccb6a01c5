"""The training state round-trips through a checkpoint: weights, optimizer, pipeline, generator, step."""

from __future__ import annotations

import torch
from blobs_modality import Blobs

from rqbench.distributed import DistEnv
from rqbench.runner import make_config
from rqbench.train.checkpoint import load_checkpoint
from rqbench.train.loop import build_state


def test_save_then_restore_gives_back_every_part(tmp_path) -> None:
    cfg = make_config("blobs", "moco", "blobs-noise+rq(bins=4)+imix")
    state = build_state(cfg, Blobs(), DistEnv(), num_samples=256)
    state.generator.manual_seed(99)
    torch.rand(3, generator=state.generator)
    for p in state.method.parameters():
        p.data.add_(1.0)
    state.save(tmp_path / "ck.pt", cfg, 7, DistEnv())
    fresh = build_state(cfg, Blobs(), DistEnv(), num_samples=256)
    saved = load_checkpoint(tmp_path / "ck.pt", cfg.key)
    assert saved is not None and fresh.restore(saved, DistEnv()) == 7
    assert all(
        torch.equal(a, b) for a, b in zip(state.method.state_dict().values(), fresh.method.state_dict().values())
    )
    assert torch.equal(torch.rand(5, generator=state.generator), torch.rand(5, generator=fresh.generator))
    assert saved["config"] == cfg.to_dict() and len(saved["rng"]) == len(saved["aug_generator"]) == 1
