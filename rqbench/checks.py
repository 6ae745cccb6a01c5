"""Argument checks shared by every layer (augmentations, evaluation): one clear error naming the argument."""

from __future__ import annotations

import math


def check_positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise unless it is a finite number ``> 0`` (``>= 0`` with ``allow_zero``).

    A non-number (a bool included) is a ``TypeError``; a number out of range, NaN or infinite a ``ValueError``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


__all__ = ["check_positive"]
