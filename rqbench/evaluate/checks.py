"""Input checks shared by the evaluation protocols: features, labels, counts, rates.

Every check raises a ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind,
bad value) whose message names the offending argument.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rqbench.checks import check_positive as check_positive  # re-exported for the evaluation modules


def check_features(x: object, name: str = "features") -> Tensor:
    """Return ``x`` unchanged, or raise unless it is a finite, non-empty 2-D float tensor ``(N, D)``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (num_samples, feature_dim), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has feature_dim 0, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        bad = "NaN" if bool(torch.isnan(x).any()) else "inf"
        raise ValueError(f"{name} contains {bad} values")
    return x


def check_labels(y: object, name: str = "labels", *, length: int | None = None, nonnegative: bool = True) -> Tensor:
    """Return ``y`` unchanged, or raise unless it is a non-empty 1-D integer tensor (of ``length`` if given).

    With ``nonnegative`` (class indices), negative labels are rejected too.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of class indices, got {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (num_samples,), got shape {tuple(y.shape)}")
    if y.numel() == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if length is not None and y.shape[0] != length:
        raise ValueError(f"{name} has {y.shape[0]} entries but the features have {length} samples")
    if nonnegative and bool((y < 0).any()):
        raise ValueError(f"{name} must be class indices >= 0, got min {int(y.min())}")
    return y


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise unless it is an int ``>= minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def resolve_num_classes(num_classes: int | None, *labels: Tensor) -> int:
    """``num_classes`` if given (checked to cover every label), else ``max(label) + 1`` over ``labels``."""
    largest = max(int(y.max()) for y in labels)
    if num_classes is None:
        return largest + 1
    n = check_int(num_classes, "num_classes", 1)
    if largest >= n:
        raise ValueError(f"num_classes={n} but the labels contain class {largest}")
    return n
