"""What a checkpoint holds and how a resumed run gets it back: method, optimizer, pipeline state,
grad scaler, and every rank's augmentation-generator and global RNG states."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.amp.grad_scaler import GradScaler

from rqbench.augment.spec import AugmentationPipeline
from rqbench.config import RunConfig
from rqbench.distributed import DistEnv, gather_objects
from rqbench.methods.base import Method
from rqbench.train.checkpoint import save_checkpoint
from rqbench.train.seed import rng_state, set_rng_state


@dataclass
class TrainingState:
    """The parts of a pretraining run that change as it trains."""

    method: Method
    optimizer: torch.optim.Optimizer
    pipeline: AugmentationPipeline
    scaler: GradScaler | None
    generator: torch.Generator
    """The augmentation generator of this rank."""

    def save(self, path: Path, cfg: RunConfig, step: int, env: DistEnv) -> None:
        """Write the state after ``step`` steps to ``path`` (rank 0; every rank takes part in the gather)."""
        generators = gather_objects(env, self.generator.get_state())
        rngs = gather_objects(env, rng_state())
        if not env.is_main:
            return
        save_checkpoint(
            path,
            {
                "config_key": cfg.key,
                "config": cfg.to_dict(),
                "step": step,
                "method": self.method.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "pipeline": self.pipeline.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "aug_generator": generators,
                "rng": rngs,
            },
        )

    def restore(self, state: dict[str, Any], env: DistEnv) -> int:
        """Load ``state`` (a checkpoint) into the parts; return the step it was written at.

        The global RNG is not restored here: see :func:`restore_global_rng`.
        """
        self.method.load_state_dict(state["method"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.pipeline.load_state_dict(state["pipeline"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.generator.set_state(state["aug_generator"][env.rank])
        return int(state["step"])


def restore_global_rng(state: dict[str, Any], env: DistEnv) -> None:
    """This rank's global RNG from ``state``. Call it after the data loader has drawn its base seed:
    an uninterrupted run made that draw before step 0, not before the resumed step, so dropout &
    co. continue the stream exactly where the checkpoint left it."""
    set_rng_state(state["rng"][env.rank])


__all__ = ["TrainingState", "restore_global_rng"]
