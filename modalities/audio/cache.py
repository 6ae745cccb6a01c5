"""Audio corpora by name, their on-disk cache, and the pretraining union.

A *corpus* (``notes``, ``words``, ``speakers``, ``langid``; see the modules of the same names)
is chosen by name through the :data:`CORPORA` registry and loaded with :func:`load_corpus`,
which returns an :class:`AudioCorpus`: a train and a test split held as Hugging Face
:class:`datasets.Dataset` objects with the columns

* ``audio``: ``List(float32)``, the clip as a mono waveform at 16 kHz
  (:data:`~modalities.audio.features.SAMPLE_RATE`), of any length, peak-normalised to 0.9
  (silent clips are zeros);
* ``label``: ``ClassLabel`` (class index; names in ``class_names``);
* ``speaker``: who or what produced the clip (a synthetic voice, a GM instrument, a Tux Paint
  language's recordings);
* ``group``: the unit the train/test split was made on (a voice, a sentence, an instrument, a
  set of stamps): no group value is in both splits;
* ``split``: ``"train"`` or ``"test"``;
* ``clip_id``: a unique, deterministic description of how the clip was made (engine, voice,
  speed, pitch, text; soundfont, program, note, velocity; Tux Paint file).

Why waveforms and not log-mels: the waveform is the source of truth. Every front-end parameter
(crop length, hop, mel range, waveform-level augmentations) stays free without rebuilding the
cache, and the cache key depends only on what the audio is. A 0.95 s log-mel (64 x 96 float32,
24.6 KB) is not much smaller than its 15,200 samples (60.8 KB), and computing it on the fly
costs about 0.1 ms per clip (:mod:`modalities.audio.features`).

Built corpora are saved under the cache directory (``$RQBENCH_CACHE``, by default
``~/.cache/rqbench``) as ``audio/<corpus>-<12 hex digits>/{train,test,meta.json}``, where the
hex digits are a hash of the corpus name, :data:`CACHE_FORMAT`, :data:`CORPUS_VERSION` and the
arguments that determine its content (seed, sizes, tool versions, voice lists, file fingerprints; ``meta.json`` lists
them). The next :func:`load_corpus` with the same arguments memory-maps them back. A build is
written into a temporary folder beside its final place and moved there with one
``os.replace``, so a crash or a concurrent build never leaves a half-written entry.

Builds are deterministic for a seed (the same arguments give the same samples, bit for bit, on
the same tool versions), show a ``rich`` progress bar (``progress=False`` hides it), and raise
:class:`AudioUnavailableError` with the exact ``apt-get``/``pip`` command when a tool or data
package is missing.

:func:`pretraining_set` is AudioSet's role: the union of the corpora's *training* clips,
unlabelled, with every clip that also occurs in a test split (same ``clip_id`` or same
samples) removed, so no test clip is ever pretrained on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import torch

from rqbench.cache import (
    CACHE_FORMAT,
    cache_root,
    entry_name,
    progress_bar,
    quiet_datasets_progress,
    read_entry,
    write_entry,
)
from rqbench.errors import InputError
from rqbench.registry import Registry

from .features import SAMPLE_RATE

__all__ = [
    "CACHE_FORMAT",
    "CORPORA",
    "CORPUS_VERSION",
    "AudioCorpus",
    "AudioUnavailableError",
    "Clip",
    "CorpusPlan",
    "apt_command",
    "cache_entry_name",
    "cache_root",
    "clip_features",
    "clips_to_dataset",
    "dataset_audio",
    "dataset_labels",
    "dataset_waveforms",
    "load_corpus",
    "pretraining_set",
    "progress_bar",
    "register_corpus",
    "require_executable",
    "require_file",
    "require_module",
    "run_tool",
]

#: The version of how the corpora are made, part of every entry's name: bumped when a build changes
#: what the same options give, so that older entries are rebuilt. 2: a recorded-like noise floor
#: under every clip and noise (not zeros) as padding (:mod:`modalities.audio.noise`), two sentences
#: per ``speakers`` clip; 1: clean synthetic clips, zero-padded.
CORPUS_VERSION = 2

#: Audio corpora by name. Each entry is a loader called as ``loader(seed=..., **options)`` that
#: returns a :class:`CorpusPlan`; its ``scales`` attribute maps scale names (``tiny``,
#: ``quick``, ``full``) to size options. Plugins may add more through the
#: ``rqbench.audio_corpora`` entry-point group.
CORPORA: Registry[Callable[..., CorpusPlan]] = Registry(
    "audio corpus",
    group="rqbench.audio_corpora",
    builtins=(
        "modalities.audio.notes",
        "modalities.audio.words",
        "modalities.audio.speakers",
        "modalities.audio.langid",
    ),
)


class AudioUnavailableError(RuntimeError, InputError):
    """A tool, library or data package an audio corpus needs is missing; the message says how to install it."""


def apt_command(*packages: str) -> str:
    """The exact command that installs Debian ``packages``."""
    return "sudo apt-get install -y --no-install-recommends " + " ".join(packages)


def require_executable(program: str, package: str, purpose: str) -> str:
    """The full path of ``program``, or :class:`AudioUnavailableError` naming its Debian package."""
    path = shutil.which(program)
    if path is None:
        raise AudioUnavailableError(
            f"{purpose} needs the program {program!r}, which is not on PATH. Install it with: {apt_command(package)}"
        )
    return path


def require_file(path: str | os.PathLike[str], package: str, purpose: str, hint: str = "") -> Path:
    """``path`` if it is a file, else :class:`AudioUnavailableError` naming its Debian package."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise AudioUnavailableError(
            f"{purpose} needs {file}, which does not exist. Install it with: {apt_command(package)}{hint}"
        )
    return file


def require_module(module: str, pip_name: str, purpose: str, apt_packages: Sequence[str] = ()) -> Any:
    """``import module``, or :class:`AudioUnavailableError` with the ``pip``/``apt-get`` commands."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pyfluidsynth raises ImportError when libfluidsynth is missing
        apt = f" and the system library: {apt_command(*apt_packages)}" if apt_packages else ""
        raise AudioUnavailableError(
            f"{purpose} needs the Python module {module!r} ({type(exc).__name__}: {exc}). "
            f"Install it with: pip install {pip_name}{apt}"
        ) from exc


def run_tool(command: Sequence[str], what: str, timeout: float = 60.0) -> bytes:
    """Run an external program and return its stdout; a failure is a :class:`RuntimeError` with its stderr."""
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{what}: running {' '.join(command)!r} failed: {exc}") from exc
    if done.returncode != 0:
        raise RuntimeError(
            f"{what}: {' '.join(command)!r} exited with status {done.returncode}: "
            f"{done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout


def tool_version(command: Sequence[str]) -> str:
    """What a program prints for its version flag: the first line that mentions a version
    (else the first line), cut before any ``Data at:``; '' if it prints nothing."""
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [
        line.strip() for line in (done.stdout or done.stderr).decode(errors="replace").splitlines() if line.strip()
    ]
    if not lines:
        return ""
    line = next((x for x in lines if "version" in x.lower()), lines[0])
    return line.split("Data at:")[0].strip()


def file_fingerprint(paths: Iterable[Path], base: Path | None = None) -> str:
    """A hash of the files' (relative) paths, sizes and modification times (stat only: cheap)."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        shown = path.relative_to(base).as_posix() if base is not None else str(path)
        digest.update(f"{shown}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch ops on one thread for a while: resampling one short clip at a time is ~30x
    slower when several OpenMP threads fight over a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# Clips <-> datasets


@dataclass(frozen=True)
class Clip:
    """One clip of a corpus before it is stored (see the module docstring for the columns)."""

    audio: np.ndarray
    label: int
    speaker: str
    group: str
    clip_id: str


def clip_features(class_names: Sequence[str]) -> datasets.Features:
    """The features of a corpus split (the columns listed in the module docstring)."""
    return datasets.Features(
        {
            "audio": datasets.List(datasets.Value("float32")),
            "label": datasets.ClassLabel(names=list(class_names)),
            "speaker": datasets.Value("string"),
            "group": datasets.Value("string"),
            "split": datasets.Value("string"),
            "clip_id": datasets.Value("string"),
        }
    )


def clips_to_dataset(clips: Sequence[Clip], class_names: Sequence[str], split: str) -> datasets.Dataset:
    """A split from clips; the Arrow table is assembled from one flat float32 buffer."""
    for clip in clips:
        if clip.audio.ndim != 1 or clip.audio.size == 0:
            raise ValueError(f"clip {clip.clip_id}: audio must be a non-empty 1-D array, got shape {clip.audio.shape}")
        if not 0 <= clip.label < len(class_names):
            raise ValueError(f"clip {clip.clip_id}: label {clip.label} outside [0, {len(class_names)})")
    features = clip_features(class_names)
    audio_type = features.arrow_schema.field("audio").type
    chunks: list[Any] = []  # pyarrow ListArrays
    start = 0
    limit = 2**31 - 1  # list<float> has 32-bit offsets: chunk the column below 2**31 samples
    while start < len(clips) or not chunks:
        stop, total = start, 0
        while stop < len(clips) and (stop == start or total + clips[stop].audio.size <= limit):
            total += clips[stop].audio.size
            stop += 1
        block = clips[start:stop]
        lengths = np.array([c.audio.size for c in block], dtype=np.int64)
        offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths)]).astype(np.int32)
        values = (
            np.concatenate([c.audio.astype(np.float32, copy=False) for c in block])
            if block
            else np.zeros(0, np.float32)
        )
        chunks.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.float32())).cast(audio_type))
        start = stop
    table = pa.table(
        {
            "audio": pa.chunked_array(chunks, type=audio_type),
            "label": pa.array([int(c.label) for c in clips], type=pa.int64()),
            "speaker": pa.array([c.speaker for c in clips], type=pa.string()),
            "group": pa.array([c.group for c in clips], type=pa.string()),
            "split": pa.array([split] * len(clips), type=pa.string()),
            "clip_id": pa.array([c.clip_id for c in clips], type=pa.string()),
        },
        schema=features.arrow_schema,
    )
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=features))


def dataset_audio(
    split: datasets.Dataset, indices: Sequence[int] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (or the ``indices``) clips of a split as one flat float32 array and int64 offsets.

    Clip ``i`` is ``values[offsets[i]:offsets[i + 1]]``. Read straight from Arrow (fast); the
    values are a copy the caller owns.
    """
    if indices is not None:
        split = split.select(np.asarray(indices, dtype=np.int64))
    column = split.with_format("arrow", columns=["audio"])[:].column("audio")
    values, offsets, base = [], [np.zeros(1, np.int64)], 0
    for chunk in column.chunks:
        chunk_offsets = chunk.offsets.to_numpy().astype(np.int64)
        flat = chunk.values.to_numpy(zero_copy_only=False)
        values.append(flat[chunk_offsets[0] : chunk_offsets[-1]])
        offsets.append(chunk_offsets[1:] - chunk_offsets[0] + base)
        base += int(chunk_offsets[-1] - chunk_offsets[0])
    flat_values = np.concatenate(values).astype(np.float32, copy=True) if values else np.zeros(0, np.float32)
    return flat_values, np.concatenate(offsets)


def dataset_waveforms(split: datasets.Dataset, indices: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
    """All (or the ``indices``) clips of a split as float32 arrays (views of one owned buffer)."""
    values, offsets = dataset_audio(split, indices)
    return [values[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def dataset_labels(split: datasets.Dataset, column: str = "label") -> np.ndarray:
    """A split's labels as an int64 array (a writable copy), read straight from Arrow."""
    return np.array(split.with_format("arrow", columns=[column])[:].column(column).to_numpy(), dtype=np.int64)


def _column(split: datasets.Dataset, column: str) -> list[str]:
    return split.with_format("arrow", columns=[column])[:].column(column).to_pylist()


# --------------------------------------------------------------------------------------------
# Corpora


@dataclass(frozen=True)
class AudioCorpus:
    """A labelled audio corpus with a train and a test split.

    Args:
        name: the corpus name (``words``, ...), written in result rows.
        train, test: splits with the columns listed in the module docstring.
        class_names: one name per class index.
        info: what the build reports about itself (voices, languages, counts, tool versions,
            build time...), as stored in ``meta.json``.
    """

    name: str
    train: datasets.Dataset
    test: datasets.Dataset
    class_names: tuple[str, ...]
    info: Mapping[str, Any] = field(default_factory=dict)
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        needed = set(clip_features(self.class_names))
        for split_name, split in (("train", self.train), ("test", self.test)):
            missing = needed - set(split.column_names)
            if missing:
                raise ValueError(f"{self.name}: the {split_name} split lacks column(s) {sorted(missing)}")
            names = getattr(split.features["label"], "names", None)
            if names is not None and tuple(names) != tuple(self.class_names):
                raise ValueError(f"{self.name}: the {split_name} split's label names differ from class_names")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> datasets.Dataset:
        """The split called ``"train"`` or ``"test"``."""
        if name not in ("train", "test"):
            raise ValueError(f"unknown split {name!r}; splits: train, test")
        return self.train if name == "train" else self.test

    def waveforms(self, split: str = "train", indices: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
        """The clips of a split as float32 arrays at 16 kHz (see :func:`dataset_waveforms`)."""
        return dataset_waveforms(self.split(split), indices)

    def labels(self, split: str = "train") -> np.ndarray:
        """The labels of a split as int64."""
        return dataset_labels(self.split(split))

    def column(self, split: str, column: str) -> list[str]:
        """A string column (``speaker``, ``group``, ``clip_id``) of a split as a list."""
        return _column(self.split(split), column)


@dataclass(frozen=True)
class CorpusPlan:
    """How a corpus builds its data, and what identifies it in the cache.

    Args:
        key: JSON-serialisable arguments that determine the built content. The cache folder's
            name is a hash of the corpus name, :data:`CACHE_FORMAT` and this key.
        build: builds the corpus, called as ``build(progress)`` (show a progress bar or not);
            only called when the cache has no entry for ``key``.
    """

    key: Mapping[str, Any]
    build: Callable[[bool], AudioCorpus]


def register_corpus(
    name: str, scales: Mapping[str, Mapping[str, Any]]
) -> Callable[[Callable[..., CorpusPlan]], Callable[..., CorpusPlan]]:
    """Register a corpus loader under ``name`` with its named size ``scales``."""

    def decorate(loader: Callable[..., CorpusPlan]) -> Callable[..., CorpusPlan]:
        loader.scales = {k: dict(v) for k, v in scales.items()}  # type: ignore[attr-defined]
        return CORPORA.register(name)(loader)

    return decorate


def cache_entry_name(corpus: str, key: Mapping[str, Any]) -> str:
    """The stable folder name of a built corpus: ``<corpus>-<12 hex digits of a hash>``."""
    return entry_name(corpus, {"corpus": corpus, "format": CACHE_FORMAT, "version": CORPUS_VERSION, "key": key})


def _read_entry(path: Path, name: str) -> AudioCorpus:
    loaded, meta = read_entry(path, ("train", "test"))
    return AudioCorpus(
        name,
        loaded["train"],
        loaded["test"],
        tuple(meta["class_names"]),
        info=meta.get("info", {}),
        sample_rate=int(meta["sample_rate"]),
    )


def _write_entry(path: Path, corpus_name: str, key: Mapping[str, Any], corpus: AudioCorpus, seconds: float) -> None:
    meta = {
        "corpus": corpus_name,
        "format": CACHE_FORMAT,
        "version": CORPUS_VERSION,
        "key": key,
        "class_names": list(corpus.class_names),
        "sample_rate": corpus.sample_rate,
        "num_train": len(corpus.train),
        "num_test": len(corpus.test),
        "build_seconds": round(seconds, 2),
        "info": dict(corpus.info),
    }
    write_entry(path, {"train": corpus.train, "test": corpus.test}, meta)


def corpus_options(name: str, scale: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """The options a corpus is built with: its ``scale``'s sizes, overridden by ``kwargs``."""
    loader = CORPORA.get(name)
    scales: Mapping[str, Mapping[str, Any]] = getattr(loader, "scales", {})
    if scale is None:
        return dict(kwargs)
    if scale not in scales:
        raise ValueError(f"audio corpus {name!r} has no scale {scale!r}; scales: {', '.join(scales) or '(none)'}")
    return {**scales[scale], **kwargs}


def load_corpus(
    name: str,
    *,
    seed: int = 0,
    scale: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> AudioCorpus:
    """Load the audio corpus called ``name`` (see :data:`CORPORA`), from the cache if built before.

    Args:
        name: ``notes``, ``words``, ``speakers``, ``langid`` or a plugin's corpus; an unknown
            name raises :class:`rqbench.registry.UnknownNameError` listing them.
        seed: seeds every random choice of the build (voices, jitter, notes, splits).
        scale: ``tiny`` (tests, seconds), ``quick`` (a few thousand clips, about a minute) or
            ``full``: fills in the corpus's size options; ``None`` uses the loader's defaults.
        cache_dir: overrides ``$RQBENCH_CACHE`` / ``~/.cache/rqbench``.
        progress: show a progress bar while building.
        **kwargs: corpus options (sizes, voices, languages, soundfont...), overriding ``scale``.

    Raises:
        AudioUnavailableError: a tool or data package is missing; the message has the install command.
    """
    options = corpus_options(name, scale, **kwargs)
    plan = CORPORA.get(name)(seed=seed, **options)
    if not isinstance(plan, CorpusPlan):
        raise TypeError(f"audio corpus {name!r} returned {type(plan).__name__}, not CorpusPlan")
    path = cache_root(cache_dir) / "audio" / cache_entry_name(name, plan.key)
    if not (path / "meta.json").is_file():
        start = time.perf_counter()
        with single_thread():
            corpus = plan.build(progress)
        _write_entry(path, name, plan.key, corpus, time.perf_counter() - start)
    return _read_entry(path, name)


# --------------------------------------------------------------------------------------------
# Pretraining


def _digests(split: datasets.Dataset) -> list[str]:
    values, offsets = dataset_audio(split)
    return [hashlib.sha1(values[offsets[i] : offsets[i + 1]].tobytes()).hexdigest() for i in range(len(offsets) - 1)]


def pretraining_set(corpora: Sequence[AudioCorpus], *, also_exclude: Sequence[AudioCorpus] = ()) -> datasets.Dataset:
    """The unlabelled pretraining set (AudioSet's role): the union of the corpora's train clips.

    Columns: ``audio`` (float32 at 16 kHz), ``corpus`` (its corpus's name), ``clip_id``. A train
    clip whose ``clip_id`` or exact samples also occur in the test split of any corpus in
    ``corpora`` or ``also_exclude`` (evaluation-only corpora) is left out, so no test clip is
    ever pretrained on. Clips keep their corpus order.
    """
    if not corpora:
        raise ValueError("pretraining_set needs at least one corpus")
    with quiet_datasets_progress():
        return _pretraining_set(corpora, also_exclude)


def _pretraining_set(corpora: Sequence[AudioCorpus], also_exclude: Sequence[AudioCorpus]) -> datasets.Dataset:
    test_ids: set[str] = set()
    test_digests: set[str] = set()
    for corpus in (*corpora, *also_exclude):
        test_ids.update(corpus.column("test", "clip_id"))
        test_digests.update(_digests(corpus.test))
    parts = []
    for corpus in corpora:
        ids = corpus.column("train", "clip_id")
        digests = _digests(corpus.train)
        keep = [
            i
            for i, (cid, dig) in enumerate(zip(ids, digests, strict=True))
            if cid not in test_ids and dig not in test_digests
        ]
        part = corpus.train.select(keep).select_columns(["audio", "clip_id"]).flatten_indices()
        part = part.add_column("corpus", [corpus.name] * len(part))
        parts.append(part.select_columns(["audio", "corpus", "clip_id"]))
    return datasets.concatenate_datasets(parts)
