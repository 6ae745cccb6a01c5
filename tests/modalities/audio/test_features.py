"""The audio front end: reading, resampling, log-mel (shape, known answer, silence), crops, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from modalities.audio.features import (
    CROP_FRAMES,
    CROP_SAMPLES,
    CROP_SECONDS,
    EPS,
    LOG_EPS,
    N_MELS,
    SAMPLE_RATE,
    AudioFileError,
    LogMel,
    crop_frames,
    crop_or_pad,
    decode_audio,
    log_mel,
    mel_center_frequencies,
    num_frames,
    peak_normalize,
    read_audio,
    resample,
    seconds_to_samples,
    stack_crops,
    trim_silence,
)

TUXPAINT_OGG = sorted(Path("/usr/share/tuxpaint/stamps").glob("animals/**/*_desc_fr.ogg"))


def sine(freq: float, seconds: float, rate: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Log-mel


def test_crop_length_and_frame_count():
    # 0.95 s at 16 kHz is 15,200 samples; center=True gives 1 + 15200 // 160 = 96 frames.
    assert seconds_to_samples(CROP_SECONDS) == CROP_SAMPLES == 15_200
    assert num_frames(CROP_SAMPLES) == CROP_FRAMES == 96
    assert num_frames(15_359) == 96 and num_frames(15_360) == 97 and num_frames(16_000) == 101
    assert log_mel(np.zeros(CROP_SAMPLES, np.float32)).shape == (1, N_MELS, CROP_FRAMES) == (1, 64, 96)
    for n in (15_199, 15_359, 15_360, 16_000, 513):
        assert log_mel(torch.randn(n)).shape[-1] == num_frames(n)


def test_batches_and_the_module_agree_with_torchaudio():
    torch.manual_seed(0)
    waves = torch.randn(3, CROP_SAMPLES) * 0.1
    module = LogMel()
    out = module(waves)
    assert out.shape == (3, 1, 64, 96)
    assert module(waves.unsqueeze(1)).shape == (3, 1, 64, 96)
    assert torch.allclose(out[1], log_mel(waves[1]))
    reference = torchaudio.transforms.MelSpectrogram(
        sample_rate=16000, n_fft=1024, win_length=1024, hop_length=160, n_mels=64, f_min=60, f_max=7800
    )(waves)
    assert torch.allclose(out[:, 0], (reference + EPS).log(), atol=1e-5)
    assert not any(p.requires_grad for p in module.parameters())


def test_a_1khz_sine_peaks_in_the_mel_band_containing_1khz():
    spec = log_mel(sine(1000.0, 1.0))[0]  # (64, T)
    peak_band = int(spec.mean(dim=-1).argmax())
    centres = mel_center_frequencies()
    assert centres[peak_band - 1] < 1000.0 < centres[peak_band + 1]
    assert peak_band == int(np.argmin(np.abs(centres - 1000.0)))
    # ... which is also the band whose triangular filter weighs the 1 kHz FFT bin the most.
    fbanks = torchaudio.functional.melscale_fbanks(513, 60.0, 7800.0, 64, 16000)
    assert peak_band == int(fbanks[round(1000 / (16000 / 1024))].argmax())
    # A 4 kHz sine peaks higher up.
    assert int(log_mel(sine(4000.0, 1.0))[0].mean(-1).argmax()) > peak_band + 10


def test_silent_and_tiny_clips_give_finite_log_mels():
    silent = log_mel(np.zeros(CROP_SAMPLES, np.float32))
    assert torch.isfinite(silent).all()
    assert torch.allclose(silent, torch.full_like(silent, LOG_EPS))
    assert math.isclose(LOG_EPS, math.log(torch.finfo(torch.float32).eps))
    tiny = log_mel(np.zeros(100, np.float32))  # shorter than n_fft // 2 + 1: zero-padded to 513
    assert tiny.shape == (1, 64, 4) and torch.isfinite(tiny).all()
    with pytest.raises(ValueError, match="empty"):
        log_mel(np.zeros(0, np.float32))


# --------------------------------------------------------------------------------------------
# Crops


def test_short_clips_are_zero_padded_in_the_middle():
    clip = torch.ones(1000)
    out = crop_or_pad(clip, CROP_SAMPLES)
    assert out.shape == (CROP_SAMPLES,)
    left = (CROP_SAMPLES - 1000) // 2
    assert out[:left].eq(0).all() and out[left : left + 1000].eq(1).all() and out[left + 1000 :].eq(0).all()
    assert crop_or_pad(np.ones(7, np.float32), 10).tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    assert log_mel(out).shape == (1, 64, 96)
    spec = torch.zeros(64, 10)
    padded = crop_frames(spec, 96)
    assert padded.shape == (64, 96) and padded[:, 0].eq(LOG_EPS).all() and padded[:, 43:53].eq(0).all()


def test_long_clips_are_cropped_at_random_or_in_the_centre():
    clip = torch.arange(40_000, dtype=torch.float32)
    a = crop_or_pad(clip, CROP_SAMPLES, generator=torch.Generator().manual_seed(1))
    b = crop_or_pad(clip, CROP_SAMPLES, generator=torch.Generator().manual_seed(1))
    assert a.shape == (CROP_SAMPLES,) and torch.equal(a, b)
    assert torch.equal(torch.diff(a), torch.ones(CROP_SAMPLES - 1))  # one contiguous window
    starts = {int(crop_or_pad(clip, CROP_SAMPLES, generator=torch.Generator().manual_seed(s))[0]) for s in range(20)}
    assert len(starts) > 10 and min(starts) >= 0 and max(starts) <= 40_000 - CROP_SAMPLES
    assert int(crop_or_pad(clip, CROP_SAMPLES, random=False)[0]) == (40_000 - CROP_SAMPLES) // 2
    assert torch.equal(crop_or_pad(clip, 40_000), clip)
    spec = torch.randn(1, 64, 300)
    assert crop_frames(spec, 96).shape == (1, 64, 96)
    batch = stack_crops([np.ones(100, np.float32), np.ones(20_000, np.float32)])
    assert batch.shape == (2, CROP_SAMPLES) and batch.dtype == torch.float32


# --------------------------------------------------------------------------------------------
# Resampling and reading


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_gives_16khz_lengths_and_keeps_the_pitch(rate):
    wave = sine(440.0, 1.0, rate)
    out = resample(wave, rate, SAMPLE_RATE)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (math.ceil(len(wave) * SAMPLE_RATE / rate),) == (16_000,)
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(int(spectrum.argmax()) - 440) <= 1  # 1 Hz bins for a 1 s clip
    as_tensor = resample(torch.from_numpy(wave).repeat(2, 1), rate)
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == (2, 16_000)
    assert resample(out, SAMPLE_RATE, SAMPLE_RATE) is out or np.array_equal(
        resample(out, SAMPLE_RATE, SAMPLE_RATE), out
    )


@pytest.mark.parametrize("bad", [0, -16000, float("nan"), float("inf"), 22050.5, "16k", None, True])
def test_impossible_sample_rates_are_value_errors(bad):
    with pytest.raises(ValueError, match="cannot resample"):
        resample(np.zeros(100, np.float32), bad, SAMPLE_RATE)
    with pytest.raises(ValueError, match="cannot resample"):
        resample(np.zeros(100, np.float32), SAMPLE_RATE, bad)


def test_resampling_an_empty_wave_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        resample(np.zeros(0, np.float32), 22050)


def test_read_audio_resamples_and_mixes_down(tmp_path):
    stereo = np.stack([sine(300.0, 0.5, 22050), sine(300.0, 0.5, 22050)], axis=1)
    soundfile.write(tmp_path / "a.wav", stereo, 22050, subtype="PCM_16")
    soundfile.write(tmp_path / "a.flac", stereo[:, 0], 22050)
    wave = read_audio(tmp_path / "a.wav")
    assert wave.dtype == np.float32 and wave.ndim == 1 and len(wave) == 8000
    assert np.allclose(wave, read_audio(tmp_path / "a.flac"), atol=1e-3)
    raw, rate = decode_audio((tmp_path / "a.wav").read_bytes())
    assert rate == 22050 and len(raw) == 11025
    assert len(read_audio(tmp_path / "a.wav", sample_rate=22050)) == 11025


@pytest.mark.skipif(not TUXPAINT_OGG, reason="no Tux Paint recordings: install Debian tuxpaint-stamps-default")
def test_read_audio_reads_ogg_vorbis():
    wave = read_audio(TUXPAINT_OGG[0])
    raw, rate = decode_audio(TUXPAINT_OGG[0])
    assert rate == 44100 and len(wave) == math.ceil(len(raw) * 16000 / 44100) and np.isfinite(wave).all()


def test_bad_audio_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        read_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFileError, match=r"empty\.wav.*empty") as info:
        read_audio(empty)
    assert isinstance(info.value, ValueError)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match=r"cannot read audio file .*garbage\.wav"):
        read_audio(garbage)
    no_frames = tmp_path / "no_frames.wav"
    soundfile.write(no_frames, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioFileError, match=r"no_frames\.wav holds no samples"):
        read_audio(no_frames)
    nan = tmp_path / "nan.wav"
    soundfile.write(nan, np.array([0.0, np.nan, 0.1], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"nan\.wav holds non-finite"):
        read_audio(nan)
    with pytest.raises(AudioFileError, match="directory"):
        read_audio(tmp_path)
    with pytest.raises(AudioFileError, match="no data"):
        decode_audio(b"")
    with pytest.raises(AudioFileError, match="my-buffer"):
        decode_audio(b"RIFF1234garbage", name="my-buffer")


def test_peak_normalize_and_trim_silence():
    wave = np.concatenate([np.zeros(2000), sine(500.0, 0.25) * 0.1, np.zeros(3000)]).astype(np.float32)
    normed = peak_normalize(wave)
    assert math.isclose(float(np.abs(normed).max()), 0.9, rel_tol=1e-6)
    assert np.array_equal(peak_normalize(np.zeros(5, np.float32)), np.zeros(5, np.float32))
    trimmed = trim_silence(wave, margin=0)
    assert 3900 <= len(trimmed) <= 4000
    assert len(trim_silence(wave)) == len(trimmed) + 2 * 480
    assert np.array_equal(trim_silence(np.zeros(10, np.float32)), np.zeros(10, np.float32))
