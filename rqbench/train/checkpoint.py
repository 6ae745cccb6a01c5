"""Checkpoints: written atomically, and refused when they belong to another config."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from rqbench.errors import InputError
from rqbench.io import write_atomic


class CheckpointCorruptError(ValueError, InputError):
    """A checkpoint file that cannot be read (empty, truncated, not a checkpoint)."""


class CheckpointMismatchError(ValueError, InputError):
    """A checkpoint whose config key differs from the run's."""


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (must hold ``config_key``) to ``path`` atomically."""
    if "config_key" not in state:
        raise ValueError("a checkpoint must record its config_key")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, config_key: str, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
    """The checkpoint at ``path`` (``None`` if absent); a different ``config_key`` is an error."""
    if not path.exists():
        return None
    state: dict[str, Any]
    try:
        try:  # tensors and plain values only (rng_state keeps NumPy's state as tensors)
            state = torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError:  # a checkpoint written before that: our own file, with NumPy arrays
            state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # empty, truncated or garbage: any failure to read it is the finding
        raise CheckpointCorruptError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
            "delete it to start the run over, or run with --no-resume"
        ) from None
    if not isinstance(state, dict) or "config_key" not in state:
        raise CheckpointCorruptError(f"checkpoint {path} is not an rqbench checkpoint; delete it to start the run over")
    if state.get("config_key") != config_key:
        raise CheckpointMismatchError(
            f"checkpoint {path} was written by config {state.get('config_key')!r}, not {config_key!r}; "
            "delete it or run the config it belongs to"
        )
    return state
