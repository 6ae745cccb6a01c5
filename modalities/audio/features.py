"""Audio in, log-mel spectrograms out: reading, resampling, log-mel, crops (BYOL-A's front end).

Every stored clip is a mono float32 waveform at :data:`SAMPLE_RATE` (16 kHz). The network sees
log-mel spectrograms computed as in BYOL-A (the paper's audio baseline, Section 5.3):

* :class:`LogMel` / :func:`log_mel`: ``torchaudio`` ``MelSpectrogram`` with ``n_fft = 1024``,
  ``win_length = 1024`` (Hann), ``hop_length = 160`` (10 ms), 64 mel bands (HTK scale, no
  filter normalisation) from 60 to 7800 Hz, power 2, ``center=True`` (reflect padding), then
  ``log(x + eps)`` with ``eps = torch.finfo(torch.float32).eps`` (about 1.19e-7), so that a
  silent clip gives ``log(eps)`` (about -15.9) everywhere instead of ``-inf``.
* Frame count: with ``center=True`` a clip of ``n`` samples gives ``1 + n // 160`` frames
  (:func:`num_frames`). The training crop is 0.95 s, :data:`CROP_SAMPLES` = 0.95 * 16000 =
  15,200 samples, which gives ``1 + 15200 // 160 = 96`` frames (:data:`CROP_FRAMES`): a log-mel
  of shape ``(1, 64, 96)``. (Any length from 15,200 to 15,359 samples gives 96 frames.)
* Crops: :func:`crop_or_pad` takes a random (training) or centred (evaluation) window of
  :data:`CROP_SAMPLES` samples; **a clip shorter than the window is zero-padded on both sides
  (centred, as BYOL-A does) and never stretched**, so short words keep their duration and pitch.
  :func:`crop_frames` does the same on a log-mel's time axis, padding with ``log(eps)``
  (the log-mel of silence).
* Waveforms too short for the reflect padding of ``center=True`` (fewer than
  ``n_fft // 2 + 1 = 513`` samples, 32 ms) are zero-padded at the end to 513 samples before the
  transform; they give 4 frames.

Reading (:func:`read_audio`, :func:`decode_audio`) goes through ``soundfile`` (WAV, FLAC,
OGG Vorbis, ...), never ``torchaudio.load`` (which needs torchcodec and FFmpeg): several channels
are averaged to mono, then the clip is resampled with ``torchaudio.functional``'s windowed-sinc
resampler (:func:`resample`, kernels cached per rate pair). Errors are explicit:

* a missing file: :class:`FileNotFoundError`;
* an unreadable, empty (no samples) or non-finite file: :class:`AudioFileError`, a
  :class:`ValueError` naming the file;
* a sample rate that cannot be resampled (not a positive whole number of Hz): :class:`ValueError`.
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torchaudio
from torch import Tensor, nn

from rqbench.errors import InputError

__all__ = [
    "CROP_FRAMES",
    "CROP_SAMPLES",
    "CROP_SECONDS",
    "EPS",
    "F_MAX",
    "F_MIN",
    "HOP_LENGTH",
    "LOG_EPS",
    "MIN_SAMPLES",
    "N_FFT",
    "N_MELS",
    "SAMPLE_RATE",
    "WIN_LENGTH",
    "AudioFileError",
    "LogMel",
    "check_rate",
    "crop_frames",
    "crop_or_pad",
    "decode_audio",
    "librosa_mel_spectrogram",
    "log_mel",
    "mel_center_frequencies",
    "num_frames",
    "peak_normalize",
    "read_audio",
    "resample",
    "seconds_to_samples",
    "stack_crops",
    "trim_silence",
]

#: The sample rate of every stored clip and of the log-mel front end (Hz).
SAMPLE_RATE = 16_000
#: FFT size and window length (64 ms at 16 kHz).
N_FFT = 1024
WIN_LENGTH = 1024
#: Hop between frames: 160 samples = 10 ms.
HOP_LENGTH = 160
#: Mel bands and their frequency range (Hz).
N_MELS = 64
F_MIN = 60.0
F_MAX = 7800.0
#: Added to the mel power before the log: float32's machine epsilon, as in BYOL-A.
EPS = float(torch.finfo(torch.float32).eps)
#: The log-mel value of silence, ``log(EPS)`` (about -15.94).
LOG_EPS = math.log(EPS)
#: The crop BYOL-A trains on (seconds), in samples at 16 kHz, and in frames.
CROP_SECONDS = 0.95
CROP_SAMPLES = 15_200
CROP_FRAMES = 96
#: The shortest waveform ``center=True`` can reflect-pad; shorter ones are zero-padded to it.
MIN_SAMPLES = N_FFT // 2 + 1


class AudioFileError(ValueError, InputError):
    """An audio file (or buffer) that cannot be used: unreadable, empty, or with non-finite samples."""


# --------------------------------------------------------------------------------------------
# Reading and resampling


def _describe(source: Any, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, str | os.PathLike):
        return str(source)
    return "<in-memory audio>"


def decode_audio(
    source: str | os.PathLike[str] | bytes | IO[bytes], *, name: str | None = None
) -> tuple[np.ndarray, int]:
    """A file, a byte string or a binary file object decoded with ``soundfile``.

    Returns ``(wave, rate)``: a mono float32 array (channels averaged) at the file's own rate.
    ``name`` is used in error messages (default: the path).

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        AudioFileError: the data cannot be decoded, holds no samples, or holds NaN/inf.
    """
    import soundfile  # a light import, but keep `import modalities.audio.features` cheap

    label = _describe(source, name)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"audio file {path} does not exist")
        if path.is_dir():
            raise AudioFileError(f"cannot read audio file {path}: it is a directory")
        if path.stat().st_size == 0:
            raise AudioFileError(f"cannot read audio file {path}: the file is empty (0 bytes)")
        handle: Any = str(path)
    elif isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise AudioFileError(f"cannot read audio {label}: no data (0 bytes)")
        handle = io.BytesIO(bytes(source))
    else:
        handle = source
    try:
        data, rate = soundfile.read(handle, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as exc:
        raise AudioFileError(f"cannot read audio file {label}: {exc}") from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"audio file {label} holds no samples (0 frames)")
    if not np.isfinite(data).all():
        raise AudioFileError(f"audio file {label} holds non-finite samples (NaN or inf)")
    wave = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(wave, dtype=np.float32), int(rate)


def read_audio(
    source: str | os.PathLike[str] | bytes | IO[bytes], *, sample_rate: int = SAMPLE_RATE, name: str | None = None
) -> np.ndarray:
    """A file (or bytes) as a mono float32 waveform at ``sample_rate`` (16 kHz by default).

    Reads with ``soundfile`` (:func:`decode_audio`) and resamples with :func:`resample`. Raises
    :class:`FileNotFoundError`, :class:`AudioFileError` (a :class:`ValueError` naming the file)
    or, for an unusable rate, :class:`ValueError`.
    """
    wave, rate = decode_audio(source, name=name)
    try:
        return resample(wave, rate, sample_rate)
    except ValueError as exc:
        raise AudioFileError(f"audio file {_describe(source, name)}: {exc}") from exc


def check_rate(rate: float, what: str = "sample rate") -> int:
    """``rate`` as an int, or a :class:`ValueError` if it is not a positive whole number of Hz."""
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise ValueError(f"cannot resample: {what} must be a positive number of Hz, got {rate!r}")
    if not math.isfinite(float(rate)) or rate <= 0:
        raise ValueError(f"cannot resample: {what} must be a positive number of Hz, got {rate!r}")
    if float(rate) != int(rate):
        raise ValueError(f"cannot resample: {what} must be a whole number of Hz, got {rate!r}")
    return int(rate)


@functools.lru_cache(maxsize=16)
def _resampler(orig: int, new: int) -> torchaudio.transforms.Resample:
    # The transform precomputes its sinc kernel once; torchaudio.functional.resample rebuilds it
    # on every call (ten times slower on short clips).
    return torchaudio.transforms.Resample(orig, new)


def resample(wave: np.ndarray | Tensor, orig_rate: float, new_rate: float = SAMPLE_RATE) -> Any:
    """``wave`` (time on the last axis) resampled from ``orig_rate`` to ``new_rate`` Hz.

    Uses ``torchaudio``'s windowed-sinc resampler (Hann window, 6 zero crossings, roll-off
    0.99). The output has ``ceil(n * new_rate / orig_rate)`` samples. A NumPy array gives a
    float32 NumPy array; a tensor gives a tensor (float32 unless it was float64). Equal rates
    return the input unchanged (as float32).

    Raises:
        ValueError: a rate that is not a positive whole number of Hz (0, negative, NaN,
            22050.5...), or an empty waveform.
    """
    orig = check_rate(orig_rate, "the original sample rate")
    new = check_rate(new_rate, "the target sample rate")
    as_numpy = not isinstance(wave, Tensor)
    x = wave if isinstance(wave, Tensor) else torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    if x.shape[-1] == 0:
        raise ValueError("cannot resample an empty waveform (0 samples)")
    if not x.is_floating_point():
        x = x.to(torch.float32)
    if orig != new:
        transform = _resampler(orig, new).to(x.device)
        with torch.no_grad():
            x = transform(x)
    return x.numpy() if as_numpy else x


# --------------------------------------------------------------------------------------------
# Clip clean-up (used when corpora are built)


def peak_normalize(wave: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """``wave`` scaled so that its largest absolute sample is ``peak``; silence stays zeros."""
    top = float(np.max(np.abs(wave))) if wave.size else 0.0
    if top <= 0.0:
        return wave.astype(np.float32, copy=True)
    return (wave * (peak / top)).astype(np.float32)


def trim_silence(wave: np.ndarray, *, threshold_db: float = -40.0, margin: int = 480) -> np.ndarray:
    """``wave`` without its leading and trailing quiet parts.

    Samples quieter than ``threshold_db`` below the peak are quiet; ``margin`` samples (30 ms
    at 16 kHz) are kept on each side of the loud part. A silent clip is returned unchanged.
    """
    magnitude = np.abs(wave)
    top = float(magnitude.max()) if wave.size else 0.0
    if top <= 0.0:
        return wave
    loud = np.flatnonzero(magnitude >= top * 10.0 ** (threshold_db / 20.0))
    start = max(int(loud[0]) - margin, 0)
    stop = min(int(loud[-1]) + 1 + margin, len(wave))
    return wave[start:stop]


# --------------------------------------------------------------------------------------------
# Log-mel


def seconds_to_samples(seconds: float, sample_rate: int = SAMPLE_RATE) -> int:
    """``round(seconds * sample_rate)``: 0.95 s at 16 kHz is 15,200 samples."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    return round(seconds * check_rate(sample_rate))


def num_frames(num_samples: int, hop_length: int = HOP_LENGTH, n_fft: int = N_FFT) -> int:
    """Log-mel frames of a waveform of ``num_samples`` samples (``center=True``): ``1 + n // hop``.

    Waveforms shorter than ``n_fft // 2 + 1`` samples are first padded to that length
    (:class:`LogMel`), so they count as that many.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    return 1 + max(num_samples, n_fft // 2 + 1) // hop_length


def mel_center_frequencies(n_mels: int = N_MELS, f_min: float = F_MIN, f_max: float = F_MAX) -> np.ndarray:
    """The centre frequency (Hz) of each mel band of :class:`LogMel` (HTK mel scale)."""
    to_mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    points = np.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2)[1:-1]
    return 700.0 * (10.0 ** (points / 2595.0) - 1.0)


class LogMel(nn.Module):
    """Waveforms to log-mel spectrograms, ``log(mel + eps)`` (BYOL-A's settings by default).

    Shapes: ``(n,)`` gives ``(1, n_mels, T)``; ``(B, n)`` gives ``(B, 1, n_mels, T)``; inputs
    with three or more dimensions ``(..., C, n)`` give ``(..., C, n_mels, T)``. ``T`` is
    :func:`num_frames` ``(n)``: 96 for a 0.95 s crop. The filter bank is a buffer, so the module
    follows ``.to(device)``; it has no trainable parameters.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        win_length: int = WIN_LENGTH,
        hop_length: int = HOP_LENGTH,
        n_mels: int = N_MELS,
        f_min: float = F_MIN,
        f_max: float = F_MAX,
        eps: float = EPS,
    ) -> None:
        super().__init__()
        check_rate(sample_rate)
        if not 0 <= f_min < f_max <= sample_rate / 2:
            raise ValueError(
                f"need 0 <= f_min < f_max <= sample_rate / 2, "
                f"got f_min={f_min}, f_max={f_max}, sample_rate={sample_rate}"
            )
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.eps = eps
        self.melspec = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_mels=n_mels,
            f_min=f_min,
            f_max=f_max,
            power=2.0,
            center=True,
        )

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}, n_mels={self.n_mels}, eps={self.eps:.3g}"

    def forward(self, wave: Tensor) -> Tensor:
        if wave.ndim == 0:
            raise ValueError("LogMel needs a waveform with a time axis, got a scalar")
        if wave.shape[-1] == 0:
            raise ValueError("LogMel got an empty waveform (0 samples)")
        minimum = self.n_fft // 2 + 1
        if wave.shape[-1] < minimum:
            wave = nn.functional.pad(wave, (0, minimum - wave.shape[-1]))
        if not wave.is_floating_point():
            wave = wave.to(torch.float32)
        if wave.ndim <= 2:
            wave = wave.unsqueeze(-2)  # (n,) -> (1, n); (B, n) -> (B, 1, n)
        return (self.melspec(wave) + self.eps).log()


def librosa_mel_spectrogram(sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> nn.Module:
    """Mel power spectrogram as ``librosa.feature.melspectrogram`` computes it by default: Hann
    window of ``n_fft``, centred frames with reflect padding, power 2, Slaney mel scale and area
    normalization, 0 Hz to Nyquist (DABS's speech features; ``torchaudio`` is used here only)."""
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        power=2.0,
        center=True,
        pad_mode="reflect",
        norm="slaney",
        mel_scale="slaney",
    )


@functools.lru_cache(maxsize=4)
def _default_log_mel() -> LogMel:
    return LogMel()


def log_mel(wave: np.ndarray | Tensor | Sequence[float]) -> Tensor:
    """The log-mel spectrogram of a waveform at 16 kHz with the default :class:`LogMel`.

    ``(n,)`` gives ``(1, 64, 1 + n // 160)`` (``(1, 64, 96)`` for a 0.95 s crop); ``(B, n)``
    gives ``(B, 1, 64, T)``. Always finite for finite input: silence gives ``log(eps)``.
    """
    x = wave if isinstance(wave, Tensor) else torch.as_tensor(np.asarray(wave, dtype=np.float32))
    module = _default_log_mel()
    if module.melspec.mel_scale.fb.device != x.device:
        module = LogMel().to(x.device)
    with torch.no_grad():
        return module(x)


# --------------------------------------------------------------------------------------------
# Crops


def _as_tensor(x: np.ndarray | Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else torch.from_numpy(np.ascontiguousarray(x))


def _window(n: int, length: int, random: bool, generator: torch.Generator | None) -> int:
    if n <= length:
        return 0
    if not random:
        return (n - length) // 2
    return int(torch.randint(0, n - length + 1, (1,), generator=generator))


def crop_or_pad(
    wave: np.ndarray | Tensor,
    length: int = CROP_SAMPLES,
    *,
    random: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """A window of exactly ``length`` samples of ``wave`` (time on the last axis), as a tensor.

    Longer clips: a window starting at a uniform random offset (``random=True``, drawn with
    ``generator``) or the centred window (``random=False``). Shorter clips: zero-padded on both
    sides, the clip centred (the extra odd sample goes to the end), as in BYOL-A. All leading
    axes share one offset.
    """
    if length < 1:
        raise ValueError(f"length must be positive, got {length}")
    x = _as_tensor(wave)
    n = x.shape[-1]
    if n == 0:
        raise ValueError("cannot crop an empty waveform (0 samples)")
    if n < length:
        left = (length - n) // 2
        return nn.functional.pad(x, (left, length - n - left))
    start = _window(n, length, random, generator)
    return x[..., start : start + length]


def crop_frames(
    spec: Tensor,
    frames: int = CROP_FRAMES,
    *,
    random: bool = True,
    generator: torch.Generator | None = None,
    pad_value: float = LOG_EPS,
) -> Tensor:
    """A window of exactly ``frames`` frames of a log-mel ``(..., n_mels, T)`` (time last).

    Like :func:`crop_or_pad`, but short spectrograms are padded (centred) with ``pad_value``,
    ``log(eps)`` by default: the log-mel of silence.
    """
    if frames < 1:
        raise ValueError(f"frames must be positive, got {frames}")
    t = spec.shape[-1]
    if t == 0:
        raise ValueError("cannot crop a spectrogram with 0 frames")
    if t < frames:
        left = (frames - t) // 2
        return nn.functional.pad(spec, (left, frames - t - left), value=pad_value)
    start = _window(t, frames, random, generator)
    return spec[..., start : start + frames]


def stack_crops(
    waves: Sequence[np.ndarray | Tensor],
    length: int = CROP_SAMPLES,
    *,
    random: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Clips of any lengths as one float32 batch ``(N, length)`` (:func:`crop_or_pad` each).

    ``random=False`` (default) takes centred windows: a deterministic evaluation input.
    """
    if len(waves) == 0:
        return torch.zeros(0, length)
    return torch.stack([crop_or_pad(w, length, random=random, generator=generator).to(torch.float32) for w in waves])
