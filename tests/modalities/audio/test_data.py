"""The audio modality's torch datasets on hand-made clips: windows, statistics, pretraining and evaluation items."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from modalities.audio.cache import Clip, clips_to_dataset
from modalities.audio.data import ClipStore, EvalClips, NormStats, PretrainCrops, logmel_stats, stats_subset, window
from modalities.audio.features import CROP_SAMPLES, log_mel


def clips(lengths: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.5 * rng.standard_normal(n)).astype(np.float32) for n in lengths]


def test_window_is_whole_centred_or_random_from_the_global_rng() -> None:
    assert window(1000, 15_200, random=True) == (0, 1000)
    assert window(20_000, 15_200, random=False) == (2400, 17_600)
    torch.manual_seed(3)
    a = window(40_000, 15_200, random=True)
    torch.manual_seed(3)
    assert window(40_000, 15_200, random=True) == a and a[1] - a[0] == 15_200


def test_logmel_stats_are_those_of_every_log_mel_value() -> None:
    waves = clips([16_000, 5_000])
    values = torch.cat([log_mel(w).flatten() for w in waves]).double()
    stats = logmel_stats(waves)
    assert stats == pytest.approx((float(values.mean()), float(values.std(correction=0))), rel=1e-6)
    assert logmel_stats(waves, [1]) == pytest.approx(logmel_stats([waves[1]]))
    x = torch.tensor([stats.mean + stats.std])
    torch.testing.assert_close(stats.apply(x), torch.tensor([1.0]))
    assert pickle.loads(pickle.dumps(stats)) == stats  # DataLoader workers get a copy
    with pytest.raises(ValueError, match="std > 0"):
        NormStats(0.0, 0.0)
    with pytest.raises(ValueError, match="zero clips"):
        logmel_stats([])


def test_stats_subset_is_seeded_and_sorted() -> None:
    assert stats_subset(5, None) == [0, 1, 2, 3, 4] and stats_subset(5, 10) == [0, 1, 2, 3, 4]
    sub = stats_subset(100, 10, seed=2)
    assert len(sub) == 10 and sub == sorted(sub) and sub == stats_subset(100, 10, seed=2)


def test_clip_store_reads_the_arrow_column_without_copying_it() -> None:
    waves = clips([700, 20_000, 3])
    split = clips_to_dataset([Clip(w, 0, "s", "g", f"c{i}") for i, w in enumerate(waves)], ["a"], "train")
    store = ClipStore(split)
    assert len(store) == 3 and [store.length(i) for i in range(3)] == [700, 20_000, 3]
    for i in range(3):
        np.testing.assert_array_equal(store[i], waves[i])
    np.testing.assert_array_equal(store.samples(1, 10, 20), waves[1][10:20])
    picked = ClipStore(split.select([2, 0]))
    np.testing.assert_array_equal(picked[0], waves[2])


def test_pretraining_crops_are_pre_normalized_0_95_s_windows() -> None:
    waves = clips([40_000, 8_000])
    stats = NormStats(-3.0, 2.0)
    data = PretrainCrops(waves, stats)
    torch.manual_seed(0)
    x = data[0]
    assert x.shape == (1, 64, 96)
    torch.manual_seed(0)
    start, stop = window(40_000, CROP_SAMPLES, random=True)
    torch.testing.assert_close(x, (log_mel(waves[0][start:stop]) + 3.0) / 2.0)
    short = data[1]  # shorter than 0.95 s: zero-padded, centred
    padded = np.zeros(CROP_SAMPLES, np.float32)
    padded[3600 : 3600 + 8000] = waves[1]
    torch.testing.assert_close(short, (log_mel(padded) + 3.0) / 2.0)


def test_eval_clips_are_centred_whole_clips_standardized_by_their_own_statistics() -> None:
    waves = clips([16_000, 48_000, 4_000])
    train = EvalClips(waves, [0, 1, 0], seconds=2.0)
    xs = torch.stack([train[i][0] for i in range(3)])
    assert xs.shape == (3, 1, 64, 201) and train[1][1] == 1
    assert abs(float(xs.mean())) < 1e-4 and abs(float(xs.std(correction=0)) - 1.0) < 1e-4
    middle = waves[1][8000:40_000]  # a 3 s clip centre-cropped to 2 s
    torch.testing.assert_close(train[1][0], train.stats.apply(log_mel(middle)))
    test = EvalClips(waves[:1], [0], seconds=2.0, stats=train.stats)
    torch.testing.assert_close(test[0][0], train[0][0])
    assert math.isfinite(train.stats.mean)
    with pytest.raises(ValueError, match="labels"):
        EvalClips(waves, [0], seconds=1.0)
