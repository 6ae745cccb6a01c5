"""The shared trainer: loop, data order, optimizers, precision, checkpoints and training state, seeding."""

from rqbench.distributed import DistEnv, init_distributed
from rqbench.train.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint
from rqbench.train.loop import TrainResult, pretrain
from rqbench.train.optim import LARS, OPTIMIZERS, build_optimizer
from rqbench.train.seed import seed_everything

__all__ = [
    "LARS",
    "OPTIMIZERS",
    "CheckpointMismatchError",
    "DistEnv",
    "TrainResult",
    "build_optimizer",
    "init_distributed",
    "load_checkpoint",
    "pretrain",
    "save_checkpoint",
    "seed_everything",
]
