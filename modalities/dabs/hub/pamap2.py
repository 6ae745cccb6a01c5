"""PAMAP2, DABS's sensors set: DABS src/datasets/sensor/pamap2.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rqbench.cache import cache_root

from ..domains import DomainData, DomainDataError, fit_count, make_task, register_domain
from ..sensors import standardize_channels
from ..tokenizers import SegmentEmbedding
from .sources import OFFLINE_HINT, _download, _extract, hub_sources, local_root, unavailable

PAMAP2_ACTIVITIES = (1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 24)
"""DABS's activity ids (lying ... rope jumping; not the optional ones), labels 0..10 in this order."""
PAMAP2_SUBJECTS = {"train": (101, 102, 103, 104, 107, 108, 109), "test": (105,)}
"""DABS's training subjects and its evaluation ("val") subject; subject 106 (its "test" mode) is unused."""
PAMAP2_COLUMNS = 54
"""timestamp, activity id, heart rate, then 17 values of each of the hand, chest and ankle IMUs."""


def _pamap2_dir(options: Mapping[str, Any]) -> Path:
    """The folder holding ``subject1NN.dat``: ``hub_roots.pamap2`` (extracted PAMAP2_Dataset), else
    downloaded once into the cache."""
    root = local_root(options, "pamap2")
    if root is not None:
        for folder in (root / "PAMAP2_Dataset" / "Protocol", root / "Protocol", root):
            if any(folder.glob("subject1*.dat")):
                return folder
        raise unavailable(
            "pamap2",
            str(root),
            "data.hub_roots.pamap2 must be the extracted PAMAP2_Dataset folder (with Protocol/subject101.dat ...).",
        )
    folder = cache_root(options.get("cache_dir")) / "dabs" / "pamap2-protocol"
    if not folder.is_dir():
        url = hub_sources(options)["pamap2"]
        need = (
            f"It needs internet access once (the files are kept in {folder}); "
            "offline, download PAMAP2_Dataset.zip from the UCI "
            f"repository, extract it and set data.hub_roots.pamap2 to the PAMAP2_Dataset folder; or {OFFLINE_HINT}."
        )
        archive = _download(url, folder.with_name("PAMAP2_Dataset.zip"), "pamap2", need)
        _extract(archive, folder, r"(^|/)Protocol/subject\d+\.dat$", "pamap2", need)
        archive.unlink()
    return folder


def read_pamap2(path: Path) -> np.ndarray:
    """A PAMAP2 ``subject*.dat`` as ``(rows, 54)`` float64, its NaNs filled.

    As DABS (``DataFrame.interpolate()``): each column linearly interpolated in row order (the
    heart rate is sampled at 9 Hz, the IMUs at 100 Hz, and IMUs drop readings). pandas leaves a
    column's leading NaNs, which DABS keeps; here they (and trailing ones) take the nearest value,
    and a column with no value at all becomes 0, so no NaN reaches the model.
    """
    import pandas as pd

    if not path.is_file():
        raise DomainDataError(
            f"DABS pamap2: {path} not found (the Protocol folder has subject101.dat ... subject109.dat)"
        )
    frame = pd.read_csv(path, sep=r"\s+", header=None, dtype="float64")
    if frame.shape[1] != PAMAP2_COLUMNS:
        raise DomainDataError(f"DABS pamap2: {path} has {frame.shape[1]} columns, expected {PAMAP2_COLUMNS}")
    return frame.interpolate(limit_direction="both").fillna(0.0).to_numpy()


def pamap2_windows(rows: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``(N, window, 52)`` float32 (all columns but timestamp and activity) and labels (index in
    :data:`PAMAP2_ACTIVITIES`).

    DABS draws windows at random (a subject, an activity, a start); here one every ``stride``
    rows inside each run of consecutive rows of one DABS activity, so a window never straddles
    two activities: a run of ``n`` rows gives ``max(0, (n - window) // stride + 1)`` windows.
    """
    activity = rows[:, 1].astype(np.int64)
    values = rows[:, 2:].astype(np.float32)
    cuts = np.flatnonzero(np.diff(activity)) + 1
    xs, ys = [], []
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(rows)]):
        if activity[start] in PAMAP2_ACTIVITIES:
            for s in range(start, stop - window + 1, stride):
                xs.append(values[s : s + window])
                ys.append(PAMAP2_ACTIVITIES.index(activity[start]))
    x = np.stack(xs) if xs else np.zeros((0, window, values.shape[1]), dtype=np.float32)
    return x, np.asarray(ys, dtype=np.int64)


@register_domain("pamap2", "Sensors")
def pamap2(options: Mapping[str, Any], seed: int) -> DomainData:
    """PAMAP2 activity windows (DABS's sensors set): 320 steps x 52 channels, segments of 5 -> Linear.

    Training subjects 101-104, 107-109 (pretraining + evaluation training), subject 105 for the
    evaluation test, 11 activities (:data:`PAMAP2_ACTIVITIES`; DABS declares 12 outputs but uses
    these 11). ``series_length`` (320) and ``segment`` (5) as DABS; windows every
    ``pamap2_stride`` rows (default: the window, no overlap; :func:`pamap2_windows`); NaNs as
    :func:`read_pamap2`. Channels are standardized with the training windows' statistics
    (``standardize``, default True; DABS feeds raw values, whose scales range from about 1 to 100).
    """
    folder = _pamap2_dir(options)
    window, segment = int(options.get("series_length", 320)), int(options.get("segment", 5))
    stride = int(options.get("pamap2_stride", window))
    arrays = {}
    for part, subjects in PAMAP2_SUBJECTS.items():
        parts = [pamap2_windows(read_pamap2(folder / f"subject{s}.dat"), window, stride) for s in subjects]
        arrays[part] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        if not len(arrays[part][0]):
            raise DomainDataError(
                f"DABS pamap2: the {part} subjects {subjects} have no run of {window} rows of one activity in {folder}"
            )
    (tr, ytr), (te, yte) = arrays["train"], arrays["test"]
    if options.get("standardize", True):
        tr, te = standardize_channels(tr, te)
    tr_x, te_x = (
        torch.from_numpy(np.ascontiguousarray(tr, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(te, dtype=np.float32)),
    )
    channels = tr_x.shape[2]
    return DomainData(
        pretrain=fit_count(tr_x, options.get("pretrain_samples"), seed),
        tasks=(make_task("pamap2", (tr_x, torch.from_numpy(ytr)), (te_x, torch.from_numpy(yte)), options, seed),),
        embedding=lambda dim: SegmentEmbedding(window, channels, segment, dim),
        info={
            "source": str(folder),
            "windows": {"train": len(tr_x), "test": len(te_x)},
            "pretrain_available": len(tr_x),
        },
    )
