"""DABS domains: a registry of loaders, each turning one domain's data into raw tensors + an embedding.

A domain loader is called ``loader(options, seed)`` with the preset's ``data`` mapping and
returns a :class:`DomainData`: the unlabelled pretraining inputs, the labelled evaluation
tasks, and a factory of the domain's input embedding (DABS: "datasets describe their input
spec, and the encoder is built from it"). Loaders register with ``@DOMAINS.register(name)``;
each names the paper domain it stands in for in :data:`PAPER_DOMAIN`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rqbench.errors import InputError
from rqbench.registry import Registry


class DomainDataError(ValueError, InputError):
    """Input data a domain cannot use (missing values, wrong shape...)."""


@dataclass(frozen=True)
class DomainTask:
    """A labelled evaluation set: raw inputs and int labels of a train and a test split."""

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    num_classes: int
    metric: str = "top1"


@dataclass(frozen=True)
class DomainData:
    """What a domain loader returns.

    Args:
        pretrain: unlabelled pretraining inputs ``(N, ...)`` (one stackable tensor per sample).
        tasks: the evaluation sets, the domain's primary one first.
        embedding: ``dim -> nn.Module`` mapping a batch of raw inputs to ``(B, L, dim)``; the
            module has a ``length`` attribute (``L``).
        info: what the load reports (sizes, truncations, substitutions).
    """

    pretrain: Tensor
    tasks: tuple[DomainTask, ...]
    embedding: Callable[[int], nn.Module]
    info: Mapping[str, Any] = field(default_factory=dict)


DomainLoader = Callable[[Mapping[str, Any], int], DomainData]

DOMAINS: Registry[DomainLoader] = Registry(
    "DABS domain",
    builtins=(
        "modalities.dabs.images",
        "modalities.dabs.text",
        "modalities.dabs.speech",
        "modalities.dabs.sensors",
        "modalities.dabs.hub",
    ),
)
"""Domain name -> loader (offline defaults and, for users with internet, the real DABS datasets)."""

PAPER_DOMAIN: dict[str, str] = {}
"""Domain name -> the paper's (Table 10) domain it stands in for."""


def register_domain(name: str, paper_domain: str) -> Callable[[DomainLoader], DomainLoader]:
    """Register a loader as domain ``name``, standing in for the paper's ``paper_domain``."""

    def decorate(loader: DomainLoader) -> DomainLoader:
        PAPER_DOMAIN[name] = paper_domain
        return DOMAINS.register(name)(loader)

    return decorate


def seeded_subset(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``min(n, limit)`` of ``n`` items (all if ``limit`` is None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(limit), replace=False))


def fit_count(x: Tensor, count: int | None, seed: int) -> Tensor:
    """Exactly ``count`` rows of ``x``: a seeded subset if there are more, whole repeats + a subset if fewer."""
    if count is None or count == len(x):
        return x
    if len(x) == 0:
        raise DomainDataError("the pretraining set is empty")
    repeats, rest = divmod(int(count), len(x))
    parts = [x] * repeats + [x[torch.as_tensor(seeded_subset(len(x), rest, seed))]] if rest else [x] * repeats
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class train/test split (each class keeps at least one training item)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = min(len(idx) - 1, round(len(idx) * test_fraction))
        test += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(test, dtype=np.int64))


def make_task(
    name: str,
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    options: Mapping[str, Any],
    seed: int,
    metric: str = "top1",
) -> DomainTask:
    """A :class:`DomainTask`, its splits capped to ``options["eval_train_samples"]`` /
    ``["eval_test_samples"]`` (seeded)."""
    tr = torch.as_tensor(seeded_subset(len(train[0]), options.get("eval_train_samples"), seed))
    te = torch.as_tensor(seeded_subset(len(test[0]), options.get("eval_test_samples"), seed + 1))
    ytr, yte = torch.as_tensor(train[1]).long(), torch.as_tensor(test[1]).long()
    num_classes = int(max(ytr.max(), yte.max())) + 1
    return DomainTask(name, train[0][tr], ytr[tr], test[0][te], yte[te], num_classes, metric)


def load_domain(name: str, options: Mapping[str, Any], seed: int = 0) -> DomainData:
    """Load domain ``name`` (an unknown name lists the registered domains)."""
    data = DOMAINS.get(name)(options, seed)
    if not isinstance(data, DomainData):
        raise TypeError(f"DABS domain {name!r} returned {type(data).__name__}, not DomainData")
    return data


__all__ = [
    "DOMAINS",
    "PAPER_DOMAIN",
    "DomainData",
    "DomainDataError",
    "DomainTask",
    "fit_count",
    "load_domain",
    "make_task",
    "register_domain",
    "seeded_subset",
    "stratified_split",
]
