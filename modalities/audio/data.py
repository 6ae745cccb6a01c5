"""Torch datasets of the audio modality: pretraining crops, evaluation clips, normalization statistics.

Everything the network sees is a log-mel (:mod:`modalities.audio.features`: 64 bands, 10 ms hop)
standardized with fixed statistics (BYOL-A's *pre-normalization*, Niizumi et al. 2021):

* **Pretraining** (:class:`PretrainCrops`): each item is ONE random 0.95 s window of a clip
  (15,200 samples: a ``(1, 64, 96)`` log-mel; shorter clips are zero-padded, centred, as in
  BYOL-A: the offline corpora's clips are at least 1 s, padded with their own noise floor when
  built, :mod:`modalities.audio.noise`),
  standardized with the mean and standard deviation of the *pretraining set's* log-mels
  (:func:`logmel_stats` over whole clips, computed once). As in BYOL-A, the two views of a
  clip are two augmentations of this one crop (the modality's ``view``). The window's offset is
  drawn from **torch's global RNG**, which the trainer seeds and checkpoints; with
  ``num_workers > 0`` each DataLoader worker has its own seed (derived from the global RNG, so
  runs stay reproducible, but a resumed run no longer repeats the crops bit for bit).
* **Evaluation** (:class:`EvalClips`): BYOL-A's downstream protocol embeds *whole* clips: each
  clip is centred and zero-padded (or centre-cropped) to a fixed length per task (``seconds``:
  every clip of a corpus fits, as BYOL-A's per-dataset ``unit_sec``), and AudioNTT2020's mean +
  max pooling over time turns any length into one embedding. Inputs are standardized with fixed
  statistics: by default those of the task's *training* split (BYOL-A normalizes each downstream
  dataset with its own statistics), or the pretraining statistics.
* **AudioSet** (:class:`HubClips`, :func:`load_hub_audio`): the paper's pretraining set through
  Hugging Face ``datasets`` (default ``agkphysics/AudioSet``), for users with internet access;
  offline it fails with :class:`~modalities.audio.cache.AudioUnavailableError` saying so.

Clips are read straight from the corpora's memory-mapped Arrow columns (:class:`ClipStore`):
nothing is copied into memory but the window being used.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .cache import AudioUnavailableError, cache_root
from .features import CROP_SAMPLES, log_mel, read_audio, seconds_to_samples

__all__ = [
    "ClipStore",
    "EvalClips",
    "HubClips",
    "NormStats",
    "PretrainCrops",
    "cached_stats",
    "load_hub_audio",
    "logmel_stats",
    "stats_subset",
    "window",
]


class ClipStore:
    """The clips of an ``audio`` column (``List(float32)``) as NumPy views, without copying the column.

    Args:
        split: a :class:`datasets.Dataset` with an ``audio`` column of 16 kHz waveforms.
    """

    def __init__(self, split: datasets.Dataset) -> None:
        if split._indices is not None:  # a select()ed view: materialize the rows it points to
            split = split.flatten_indices()
        column = split.data.column("audio")
        self._values: list[Any] = []
        starts, stops, chunk_of = [], [], []
        for k, chunk in enumerate(column.chunks):
            offsets = chunk.offsets.to_numpy().astype(np.int64)
            self._values.append(chunk.values)
            starts.append(offsets[:-1])
            stops.append(offsets[1:])
            chunk_of.append(np.full(len(offsets) - 1, k, dtype=np.int64))
        self._starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self._stops = np.concatenate(stops) if stops else np.zeros(0, np.int64)
        self._chunk = np.concatenate(chunk_of) if chunk_of else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self._starts)

    def length(self, i: int) -> int:
        """Samples in clip ``i``."""
        return int(self._stops[i] - self._starts[i])

    def __getitem__(self, i: int) -> np.ndarray:
        """Clip ``i`` as a read-only float32 array (a view of the Arrow buffer)."""
        return self.samples(i, 0, self.length(i))

    def samples(self, i: int, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of clip ``i`` (read-only float32 view)."""
        base = int(self._starts[i])
        values = self._values[int(self._chunk[i])]
        return values.slice(base + start, stop - start).to_numpy(zero_copy_only=True)


def window(n: int, length: int, random: bool) -> tuple[int, int]:
    """``(start, stop)`` of a ``length``-sample window of an ``n``-sample clip.

    The whole clip when it is not longer (it is padded, centred, afterwards); otherwise a
    uniformly random start drawn from torch's global RNG (``random``) or the centred window.
    """
    if n <= length:
        return 0, n
    start = int(torch.randint(0, n - length + 1, (1,))) if random else (n - length) // 2
    return start, start + length


def _fixed_length(wave: np.ndarray, length: int) -> np.ndarray:
    """``wave`` (at most ``length`` samples) zero-padded on both sides, centred, to ``length``."""
    if len(wave) == length:
        return np.array(wave, dtype=np.float32)  # a writable copy
    out = np.zeros(length, np.float32)
    left = (length - len(wave)) // 2
    out[left : left + len(wave)] = wave
    return out


class NormStats(tuple):
    """``(mean, std)`` of log-mel values: BYOL-A's fixed normalization statistics."""

    def __new__(cls, mean: float, std: float) -> NormStats:
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise ValueError(f"normalization statistics must be finite with std > 0, got mean={mean}, std={std}")
        return super().__new__(cls, (float(mean), float(std)))

    def __getnewargs__(self) -> tuple[float, float]:  # pickling (DataLoader workers)
        return (self[0], self[1])

    @property
    def mean(self) -> float:
        return self[0]

    @property
    def std(self) -> float:
        return self[1]

    def apply(self, x: Tensor) -> Tensor:
        """``(x - mean) / std``."""
        return (x - self[0]) / self[1]


def logmel_stats(waves: Sequence[np.ndarray] | Any, indices: Sequence[int] | None = None) -> NormStats:
    """Mean and (population) standard deviation of every log-mel value of the clips ``waves[i]``.

    Whole clips are used (BYOL-A computes its pre-normalization statistics on the pretraining
    files' log-mels); sums are accumulated in float64.
    """
    idx = range(len(waves)) if indices is None else indices
    total, total_sq, count = 0.0, 0.0, 0
    for i in idx:
        spec = log_mel(np.array(waves[int(i)], dtype=np.float32)).double()  # a writable copy
        total += float(spec.sum())
        total_sq += float((spec * spec).sum())
        count += spec.numel()
    if count == 0:
        raise ValueError("cannot compute normalization statistics of zero clips")
    mean = total / count
    return NormStats(mean, math.sqrt(max(total_sq / count - mean * mean, 0.0)))


def stats_subset(n: int, limit: int | None, seed: int = 0) -> list[int]:
    """Indices of the clips the statistics are computed on: all, or a seeded sorted subset of ``limit``."""
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit].tolist())


class PretrainCrops(Dataset):
    """Pretraining items: one random 0.95 s window per clip, as a pre-normalized ``(1, 64, 96)`` log-mel.

    Args:
        clips: indexable clips (``clips[i]`` a 16 kHz waveform; :class:`ClipStore`, a list...).
        stats: the pre-normalization statistics (of the pretraining set).
        indices: the clips used (default: all).
        length: window length in samples (0.95 s).
    """

    def __init__(
        self, clips: Any, stats: NormStats, indices: Sequence[int] | None = None, length: int = CROP_SAMPLES
    ) -> None:
        self.clips = clips
        self.stats = stats
        self.indices = list(range(len(clips))) if indices is None else [int(i) for i in indices]
        self.length = length

    def __len__(self) -> int:
        return len(self.indices)

    def wave(self, item: int) -> np.ndarray:
        """The random window of item ``item`` (drawn from torch's global RNG), padded to ``length``."""
        i = self.indices[item]
        if isinstance(self.clips, ClipStore):
            start, stop = window(self.clips.length(i), self.length, random=True)
            return _fixed_length(self.clips.samples(i, start, stop), self.length)
        clip = np.asarray(self.clips[i], dtype=np.float32)
        start, stop = window(len(clip), self.length, random=True)
        return _fixed_length(clip[start:stop], self.length)

    def __getitem__(self, item: int) -> Tensor:
        return self.stats.apply(log_mel(self.wave(item)))


class EvalClips(Dataset):
    """Labelled evaluation items: each clip centred in ``seconds`` (padded or cropped), as a standardized log-mel.

    Args:
        clips: indexable 16 kHz waveforms.
        labels: one int label per clip.
        seconds: the fixed input length (every clip of the task is embedded whole if it fits).
        stats: the standardization statistics; ``None`` computes them on these clips (use it
            for the training split, then pass ``dataset.stats`` to the test split).
    """

    def __init__(
        self, clips: Any, labels: Sequence[int] | np.ndarray, seconds: float, stats: NormStats | None = None
    ) -> None:
        if len(clips) != len(labels):
            raise ValueError(f"{len(clips)} clips but {len(labels)} labels")
        self.clips = clips
        self.labels = np.asarray(labels, dtype=np.int64)
        self.length = seconds_to_samples(seconds)
        self.stats = stats if stats is not None else self._own_stats()

    def _own_stats(self) -> NormStats:
        return logmel_stats(_Windows(self))

    def __len__(self) -> int:
        return len(self.labels)

    def wave(self, i: int) -> np.ndarray:
        """Clip ``i`` centred in a ``length``-sample window (zero-padded or centre-cropped)."""
        if isinstance(self.clips, ClipStore):
            start, stop = window(self.clips.length(i), self.length, random=False)
            return _fixed_length(self.clips.samples(i, start, stop), self.length)
        clip = np.asarray(self.clips[i], dtype=np.float32)
        start, stop = window(len(clip), self.length, random=False)
        return _fixed_length(clip[start:stop], self.length)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.stats.apply(log_mel(self.wave(i))), int(self.labels[i])


class _Windows:
    """The fixed-length windows an :class:`EvalClips` feeds the network (for its statistics)."""

    def __init__(self, data: EvalClips) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.data.wave(i)


# --------------------------------------------------------------------------------------------
# AudioSet (or any audio dataset) from the Hugging Face Hub


def load_hub_audio(
    hub: str, config: str | None = None, split: str = "train", audio_column: str = "audio", **kwargs: Any
) -> datasets.Dataset:
    """A Hub audio dataset with its audio column left undecoded (decoded here with ``soundfile``).

    Raises:
        AudioUnavailableError: the dataset cannot be loaded (offline, not cached, no access);
            the message says what is needed.
    """
    try:
        data = datasets.load_dataset(hub, config, split=split, **kwargs)
    except Exception as exc:  # offline, gated, missing: all mean "not available here"
        offline = any(
            os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
            for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
        )
        why = (
            "HF_HUB_OFFLINE is set and it is not in the local Hugging Face cache"
            if offline
            else "it could not be downloaded"
        )
        raise AudioUnavailableError(
            f"the audio pretraining set {hub!r} (config {config!r}, split {split!r}) is not available: {why} "
            f"({type(exc).__name__}: {exc}). The paper preset pretrains on AudioSet from the Hugging Face Hub: "
            f"run it with internet access (or a filled HF cache), or use the offline corpora (--preset quick)."
        ) from exc
    if audio_column not in data.column_names:
        raise ValueError(f"{hub!r} has no column {audio_column!r}; columns: {', '.join(data.column_names)}")
    return data.cast_column(audio_column, datasets.Audio(decode=False))


class HubClips:
    """Clips of a Hub audio dataset (undecoded ``Audio`` column), read with ``soundfile`` at 16 kHz."""

    def __init__(self, data: datasets.Dataset, audio_column: str = "audio") -> None:
        self.data = data
        self.audio_column = audio_column

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> np.ndarray:
        audio = self.data[int(i)][self.audio_column]
        source = audio.get("bytes") or audio.get("path")
        return read_audio(source, name=audio.get("path") or f"row {i}")


def cached_stats(key: dict[str, Any], compute: Any, cache_dir: str | os.PathLike[str] | None = None) -> NormStats:
    """Statistics stored under the cache directory by a hash of ``key`` (computed once, then read back)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = Path(cache_root(cache_dir)) / "audio" / f"norm-{digest}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return NormStats(data["mean"], data["std"])
    stats = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "mean": stats.mean, "std": stats.std}, indent=1, default=str))
    os.replace(tmp, path)
    return stats
