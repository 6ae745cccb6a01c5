"""Run loggers that researchers' tools read: TensorBoard event files in the run directory (always),
Weights & Biases on request (``--logger wandb``). Both get the per-step scalars (loss, lr, momentum,
samples/s, method values such as MID-Net's bank momentum), the kNN monitor, the final evaluation
metrics and the resolved config as text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from rqbench.errors import InputError

WANDB_INSTALL = "pip install wandb (or: pip install 'rqbench[wandb]')"


class LoggerUnavailableError(ImportError, InputError):
    """A logger whose package is not installed; the message says how to install it."""


class RunLogger(Protocol):
    """What the trainer and the runner tell a logger."""

    def log_config(self, config: Mapping[str, Any]) -> None: ...
    def log_step(self, record: Mapping[str, Any]) -> None: ...
    def log_eval(self, rows: Iterable[Mapping[str, Any]], step: int) -> None: ...
    def log_scalars(self, values: Mapping[str, float], step: int) -> None: ...
    def close(self) -> None: ...


def scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a step record (``None`` and the step counters left out)."""
    return {
        k: float(v)
        for k, v in record.items()
        if k not in ("step", "epoch") and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def eval_tag(row: Mapping[str, Any]) -> str:
    """``eval/<dataset>/<protocol>@<fraction>/<metric>``."""
    return f"eval/{row['dataset']}/{row['protocol']}@{float(row['label_fraction']):g}/{row['metric']}"


class TensorBoardLogger:
    """Event files in ``run_dir`` (``tensorboard --logdir results/runs`` lists every run); a resumed run
    purges the steps it writes again."""

    def __init__(self, run_dir: Path, start_step: int = 0) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir), purge_step=start_step if start_step else None)

    def log_config(self, config: Mapping[str, Any]) -> None:
        self.writer.add_text("config", "```\n" + json.dumps(dict(config), indent=2, sort_keys=True) + "\n```", 0)

    def log_step(self, record: Mapping[str, Any]) -> None:
        for name, value in scalars(record).items():
            self.writer.add_scalar(f"train/{name}", value, int(record["step"]))

    def log_eval(self, rows: Iterable[Mapping[str, Any]], step: int) -> None:
        for row in rows:
            self.writer.add_scalar(eval_tag(row), float(row["value"]), step)
        self.writer.flush()

    def log_scalars(self, values: Mapping[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """A Weights & Biases run named after the run key, with the config."""

    def __init__(self, run_dir: Path, name: str, config: Mapping[str, Any]) -> None:
        try:
            import wandb
        except ImportError:
            raise LoggerUnavailableError(f"--logger wandb needs the wandb package: {WANDB_INSTALL}") from None
        self.run = wandb.init(
            project="rqbench", name=name, id=name, dir=str(run_dir), config=dict(config), resume="allow"
        )

    def log_config(self, config: Mapping[str, Any]) -> None:
        self.run.config.update(dict(config), allow_val_change=True)

    def log_step(self, record: Mapping[str, Any]) -> None:
        self.run.log({f"train/{k}": v for k, v in scalars(record).items()}, step=int(record["step"]))

    def log_eval(self, rows: Iterable[Mapping[str, Any]], step: int) -> None:
        self.run.log({eval_tag(r): float(r["value"]) for r in rows}, step=step)

    def log_scalars(self, values: Mapping[str, float], step: int) -> None:
        self.run.log(dict(values), step=step)

    def close(self) -> None:
        self.run.finish()


LOGGERS: dict[str, Callable[[Path, str, Mapping[str, Any], int], RunLogger]] = {
    "tensorboard": lambda run_dir, name, config, start: TensorBoardLogger(run_dir, start),
    "wandb": lambda run_dir, name, config, start: WandbLogger(run_dir, name, config),
}


def check_loggers(names: Sequence[str]) -> None:
    """One clear error for an unknown logger name, or for wandb when it is not installed (before any work)."""
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise LoggerUnavailableError(f"unknown logger {unknown[0]!r}; loggers: {', '.join(LOGGERS)}")
    if "wandb" in names:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise LoggerUnavailableError(f"--logger wandb needs the wandb package: {WANDB_INSTALL}")


class Loggers:
    """Every chosen logger at once (TensorBoard always)."""

    def __init__(
        self,
        run_dir: Path,
        name: str,
        config: Mapping[str, Any],
        extra: Sequence[str] = (),
        start_step: int = 0,
        write_config: bool = True,
    ) -> None:
        check_loggers(extra)
        chosen = dict.fromkeys(["tensorboard", *extra])
        self.loggers = [LOGGERS[n](run_dir, name, config, start_step) for n in chosen]
        if write_config and not start_step:
            for logger in self.loggers:
                logger.log_config(config)

    def log_step(self, record: Mapping[str, Any]) -> None:
        for logger in self.loggers:
            logger.log_step(record)

    def log_eval(self, rows: Iterable[Mapping[str, Any]], step: int) -> None:
        rows = list(rows)
        for logger in self.loggers:
            logger.log_eval(rows, step)

    def log_scalars(self, values: Mapping[str, float], step: int) -> None:
        for logger in self.loggers:
            logger.log_scalars(values, step)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


__all__ = [
    "LOGGERS",
    "LoggerUnavailableError",
    "Loggers",
    "TensorBoardLogger",
    "WandbLogger",
    "check_loggers",
    "eval_tag",
    "scalars",
]
