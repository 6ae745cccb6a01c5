"""The noise floor of the synthetic corpora: spectra, SNR within its range, determinism, padding above the floor."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from modalities.audio.features import HOP_LENGTH, LOG_EPS, N_FFT, SAMPLE_RATE, log_mel
from modalities.audio.noise import (
    SNR_DB,
    NoiseRecipe,
    background,
    check_snr_range,
    clip_rng,
    colored_noise,
    corpus_recipe,
    mains_hum,
    noise_floor_key,
    with_noise_floor,
)


def tone(seconds: float = 0.3, hz: float = 440.0) -> np.ndarray:
    """A clean clip with silent surroundings in mind: a tone with a short fade in and out."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.9 * np.sin(2 * np.pi * hz * t) * np.hanning(len(t))).astype(np.float32)


def snr_of(mixed: np.ndarray, clean: np.ndarray, offset: int) -> float:
    """The SNR (dB) of ``mixed`` over the clip's samples, the noise being ``mixed - clean`` there."""
    noise = mixed[offset : offset + len(clean)].astype(np.float64) - clean
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2))


@pytest.mark.parametrize(("exponent", "slope"), [(0.0, 0.0), (1.0, -1.0), (2.0, -2.0)])
def test_colored_noise_has_unit_rms_and_its_spectral_slope(exponent: float, slope: float) -> None:
    noise = colored_noise(2**16, np.random.default_rng(0), exponent)
    assert np.sqrt(np.mean(noise**2)) == pytest.approx(1.0) and abs(noise.mean()) < 1e-9
    power = np.abs(np.fft.rfft(noise)) ** 2
    k = np.arange(len(power))
    # Octave-band powers per bin from 64 to 16,384: log2 power falls by `slope` per octave.
    bands = [power[(k >= lo) & (k < 2 * lo)].mean() for lo in 2 ** np.arange(6, 15)]
    fitted = np.polyfit(np.arange(len(bands)), np.log2(bands), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.1)


def test_mains_hum_is_50_or_60_hz_with_harmonics() -> None:
    seen = set()
    for seed in range(6):
        hum = mains_hum(SAMPLE_RATE, np.random.default_rng(seed))
        spectrum = np.abs(np.fft.rfft(hum))  # 1 Hz per bin over one second
        fundamental = int(spectrum.argmax())
        assert fundamental in (50, 60) and np.sqrt(np.mean(hum**2)) == pytest.approx(1.0)
        assert spectrum[2 * fundamental] > 100 * np.median(spectrum)
        seen.add(fundamental)
    assert seen == {50, 60}


def test_background_is_deterministic_unit_rms_and_varies_with_the_seed() -> None:
    a = background(8000, np.random.default_rng(1))
    assert np.array_equal(a, background(8000, np.random.default_rng(1)))
    assert not np.allclose(a, background(8000, np.random.default_rng(2)))
    assert np.sqrt(np.mean(a**2)) == pytest.approx(1.0)


def test_snr_is_exact_and_drawn_across_the_stated_range() -> None:
    clean = tone()
    drawn = []
    for k in range(40):
        mixed, offset, snr = with_noise_floor(clean, clip_rng(0, f"clip{k}"), length=SAMPLE_RATE)
        assert SNR_DB[0] <= snr <= SNR_DB[1]
        assert snr_of(mixed, clean, offset) == pytest.approx(snr, abs=0.01)
        assert mixed.dtype == np.float32 and len(mixed) == SAMPLE_RATE and 0 <= offset <= SAMPLE_RATE - len(clean)
        drawn.append(snr)
    assert max(drawn) - min(drawn) > 10  # drawn per clip, not a constant
    mixed, offset, snr = with_noise_floor(clean, clip_rng(0, "x"), snr_db=(5.0, 5.0))
    assert snr == 5.0 and offset == 0 and len(mixed) == len(clean)
    assert snr_of(mixed, clean, 0) == pytest.approx(5.0, abs=0.01)


def test_same_seed_and_clip_give_the_same_samples() -> None:
    clean = tone()
    a = with_noise_floor(clean, clip_rng(3, "voice:seven#0"), length=SAMPLE_RATE)
    b = with_noise_floor(clean, clip_rng(3, "voice:seven#0"), length=SAMPLE_RATE)
    assert np.array_equal(a[0], b[0]) and a[1:] == b[1:]
    for other in (clip_rng(4, "voice:seven#0"), clip_rng(3, "voice:seven#1")):
        assert not np.array_equal(with_noise_floor(clean, other, length=SAMPLE_RATE)[0], a[0])


def test_no_padded_frame_lies_below_the_clips_noise_floor() -> None:
    clean = tone(0.3)
    for k in range(10):
        mixed, offset, _ = with_noise_floor(clean, clip_rng(k, "pad"), length=SAMPLE_RATE, placement="random")
        spec = log_mel(mixed)[0]  # (64, T)
        noise = mixed.astype(np.float64)
        noise[offset : offset + len(clean)] -= clean
        floor = log_mel(noise.astype(np.float32))[0].mean(0)  # the noise alone, per frame
        centres = np.arange(spec.shape[-1]) * HOP_LENGTH
        touches = (centres + N_FFT // 2 > offset) & (centres - N_FFT // 2 < offset + len(clean))
        padded, under = torch.from_numpy(~touches), torch.from_numpy(touches)
        assert padded.any() and under.any()
        # Padded frames hold the same noise as the frames under the clip: none is below that floor.
        assert float(spec.mean(0)[padded].min()) >= float(floor[under].min()) - 0.5
        assert float(spec.amax(0).min()) > LOG_EPS + 5


def test_centre_placement_and_bad_arguments() -> None:
    clean = tone(0.25)
    mixed, offset, _ = with_noise_floor(clean, clip_rng(0, "c"), length=8000, placement="centre")
    assert offset == (8000 - len(clean)) // 2 and len(mixed) == 8000
    with pytest.raises(ValueError, match="non-silent"):
        with_noise_floor(np.zeros(100, np.float32), clip_rng(0, "z"))
    with pytest.raises(ValueError, match="placement"):
        with_noise_floor(clean, clip_rng(0, "c"), placement="left")
    for bad in ((40.0, 20.0), (10.0,), (0.0, float("nan"))):
        with pytest.raises(ValueError, match="snr_db must be"):
            check_snr_range(bad)
    assert check_snr_range([20, 40]) == (20.0, 40.0)
    with pytest.raises(ValueError, match="positive"):
        colored_noise(0, np.random.default_rng(0), 1.0)


def test_the_default_floor_is_unchanged_by_the_recipe_option() -> None:
    """Per-clip recipes (the default) draw exactly as before the option existed: the digest of eight
    floors was taken with the code before the option (commit d07c19f, the v2 corpora's)."""
    clean = np.sin(np.arange(5000) / 7.0)
    floors = [with_noise_floor(clean, clip_rng(0, f"c{k}"), length=16000)[0] for k in range(8)]
    digest = hashlib.sha256(b"".join(f.tobytes() for f in floors)).hexdigest()
    assert digest == "ba58f2de4e056b13474632399b6f7a200797e308728df113533979f3dbe3eeab"


def hum_share(noise: np.ndarray, hz: float) -> float:
    """The share of ``noise``'s power within 2 Hz of ``hz`` (1 s at 16 kHz: 1 Hz bins)."""
    power = np.abs(np.fft.rfft(noise)) ** 2
    return float(power[int(hz) - 2 : int(hz) + 3].sum() / power[1:].sum())


def test_one_recipe_per_corpus_gives_every_clip_the_same_background() -> None:
    """With a corpus recipe, clips differ only in the noise's realization: the same hum (or none)
    and the same hiss level in every clip; per-clip recipes differ."""
    hum = NoiseRecipe(hiss_db=12.0, hum_hz=60.0, hum_db=3.0, falloff_db=(6.0, 6.0, 6.0, 6.0, 6.0))
    quiet = NoiseRecipe(hiss_db=12.0, hum_hz=None, hum_db=3.0, falloff_db=(6.0, 6.0, 6.0, 6.0, 6.0))
    with_hum = [background(SAMPLE_RATE, clip_rng(0, f"c{k}"), recipe=hum) for k in range(6)]
    without = [background(SAMPLE_RATE, clip_rng(0, f"c{k}"), recipe=quiet) for k in range(6)]
    shares = [hum_share(n, 60.0) for n in with_hum]
    assert min(shares) > 0.2 and max(shares) - min(shares) < 0.05  # the recipe's hum, 3 dB below, in every clip
    assert max(hum_share(n, 60.0) for n in without) < 0.01
    assert not np.allclose(with_hum[0], with_hum[1])  # a new realization per clip
    # Per-clip recipes: some clips hum and some do not.
    own = [hum_share(background(SAMPLE_RATE, clip_rng(0, f"c{k}")), 50.0) for k in range(20)]
    own = [max(s, hum_share(background(SAMPLE_RATE, clip_rng(0, f"c{k}")), 60.0)) for k, s in enumerate(own)]
    assert min(own) < 0.01 < 0.1 < max(own)


def test_corpus_recipe_is_seeded_by_corpus_and_checked() -> None:
    assert corpus_recipe("clip", 0, "words") is None
    a = corpus_recipe("corpus", 0, "words")
    assert a == corpus_recipe("corpus", 0, "words") and a is not None
    assert a != corpus_recipe("corpus", 0, "speakers") and a != corpus_recipe("corpus", 1, "words")
    assert 6 <= a.hiss_db <= 20 and 0 <= a.hum_db <= 15 and all(3 <= f <= 9 for f in a.falloff_db)
    with pytest.raises(ValueError, match="noise_floor must be one of clip, corpus"):
        corpus_recipe("per-clip", 0, "words")
    assert noise_floor_key("clip") == {} and noise_floor_key("corpus") == {"noise_floor": "corpus"}


def test_a_recipe_keeps_the_snr_exact() -> None:
    clean = np.sin(np.arange(4000) / 5.0)
    recipe = corpus_recipe("corpus", 3, "notes")
    mixed, offset, snr = with_noise_floor(clean, clip_rng(0, "x"), length=SAMPLE_RATE, snr_db=(25, 25), recipe=recipe)
    noise = mixed.astype(np.float64)[offset : offset + len(clean)] - clean
    assert snr == 25.0
    assert 10 * np.log10(np.mean(clean**2) / np.mean(noise**2)) == pytest.approx(25.0, abs=1e-3)
