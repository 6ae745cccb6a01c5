"""The audio modality (registered as ``audio``): BYOL-A's pipeline (Niizumi et al. 2021), paper Section 5.3.

Where everything happens, in BYOL-A's order:

=====================  ===========================================================================
pretraining item       ONE random 0.95 s window of a clip -> ``(1, 64, 96)`` log-mel ->
                       pre-normalization with the pretraining set's statistics
                       (:class:`~modalities.audio.data.PretrainCrops`)
channel stage (x2)     the generic augmentation on ``(B, 1, 64, 96)``, one channel per clip
                       (``layout = ChannelLayout(channel_dim=1)``), independently per view:
                       ``rq(bins=5)`` (the paper), ``byola-mixup`` (BYOL-A's baseline), ``dacl``,
                       ``mixup``, or ``none``
view stage             the spec's VIEW stage: ``audio-rrc`` (BYOL-A's random resized crop,
                       :mod:`modalities.audio.views`)
backbone               :class:`~modalities.audio.backbone.PostNorm` (BYOL-A's post-normalization,
                       batch statistics) then AudioNTT2020 (2048-d in the paper)
evaluation             frozen embeddings of whole clips standardized with fixed statistics
                       (no batch statistics), linear probe with early stopping, kNN
=====================  ===========================================================================

The channel stage runs *before* the view stage (``stage_order``): BYOL-A's ``train.py`` applies
pre-normalization -> mixup -> random resized crop -> post-normalization, and the paper replaces
that mixup with RQ. Post-normalization is the first (parameter-free) layer of the backbone, so
the encoder sees exactly pre-norm -> augmentation -> views -> post-norm.

Data (``preset.data``, see :mod:`modalities.audio.presets`): the offline corpora (``words``,
``speakers``, ``notes``, ``langid`` of :mod:`modalities.audio.cache`) provide the tasks; the
pretraining set is the union of their training clips without any clip that occurs in a test
split (:func:`~modalities.audio.cache.pretraining_set`), or AudioSet from the Hugging Face Hub.
Everything is loaded once per process.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rqbench.augment.base import ChannelLayout, Stage
from rqbench.modality import MODALITIES, Modality, Task
from rqbench.preset import Preset

from . import views  # noqa: F401  (registers audio-rrc)
from .backbone import PostNorm, audio_encoder
from .cache import AudioCorpus, load_corpus, pretraining_set
from .data import (
    ClipStore,
    EvalClips,
    HubClips,
    NormStats,
    PretrainCrops,
    cached_stats,
    load_hub_audio,
    logmel_stats,
    stats_subset,
)
from .features import N_MELS
from .presets import PRESETS, TASKS

__all__ = ["Audio", "load_task_corpus", "pretraining_data", "task_datasets"]


def _key(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=lambda v: list(v) if isinstance(v, (tuple, set)) else str(v))


def _data(key: str) -> dict[str, Any]:
    return json.loads(key)


@functools.lru_cache(maxsize=16)
def _load_corpus(task: str, scale: str | None, seed: int, options_key: str, cache_dir: str | None) -> AudioCorpus:
    corpus, task_options = TASKS[task]
    options = {**json.loads(options_key).get(corpus, {}), **task_options}
    return load_corpus(corpus, seed=seed, scale=scale, cache_dir=cache_dir, progress=sys.stderr.isatty(), **options)


def load_task_corpus(task: str, data: Mapping[str, Any]) -> AudioCorpus:
    """The corpus of task ``task`` (``words35``, ...) as ``data`` says, loaded once per process."""
    if task not in TASKS:
        raise ValueError(f"unknown audio task {task!r}; tasks: {', '.join(TASKS)}")
    return _load_corpus(
        task,
        data.get("scale"),
        int(data.get("corpus_seed", 0)),
        _key(data.get("corpus_options", {})),
        data.get("cache_dir"),
    )


@functools.lru_cache(maxsize=4)
def _pretraining(key: str) -> tuple[Any, list[int], NormStats]:
    data = _data(key)
    source = data.get("source", "corpora")
    norm_samples = data.get("norm_samples")
    if source == "corpora":
        tasks = list(data["tasks"])
        chosen = list(data.get("pretrain_tasks") or tasks)
        unknown = sorted(set(chosen) - set(TASKS))
        if unknown:
            raise ValueError(f"unknown pretraining task(s) {', '.join(unknown)}; tasks: {', '.join(TASKS)}")
        others = [t for t in tasks if t not in chosen]
        clips: Any = ClipStore(
            pretraining_set(
                [load_task_corpus(t, data) for t in chosen], also_exclude=[load_task_corpus(t, data) for t in others]
            )
        )
        indices = stats_subset(len(clips), data.get("pretrain_samples"), seed=0)
        stats = logmel_stats(clips, [indices[i] for i in stats_subset(len(indices), norm_samples, seed=1)])
    elif source == "audioset":
        options = dict(data.get("audioset", {}))
        hub, config, split = (
            options.get("hub", "agkphysics/AudioSet"),
            options.get("config"),
            options.get("split", "train"),
        )
        clips = HubClips(load_hub_audio(hub, config, split, **dict(options.get("load_kwargs", {}))))
        indices = stats_subset(len(clips), data.get("pretrain_samples"), seed=0)
        stats = cached_stats(
            {
                "hub": hub,
                "config": config,
                "split": split,
                "clips": len(clips),
                "pretrain_samples": data.get("pretrain_samples"),
                "norm_samples": norm_samples,
            },
            lambda: logmel_stats(clips, [indices[i] for i in stats_subset(len(indices), norm_samples, seed=1)]),
            data.get("cache_dir"),
        )
    else:
        raise ValueError(f"unknown audio pretraining source {source!r}; sources: corpora, audioset")
    return clips, indices, stats


def pretraining_data(data: Mapping[str, Any]) -> tuple[Any, list[int], NormStats]:
    """``(clips, indices used, pre-normalization statistics)`` of the pretraining set ``data`` describes."""
    return _pretraining(
        _key(
            {
                k: data.get(k)
                for k in (
                    "source",
                    "audioset",
                    "scale",
                    "corpus_seed",
                    "corpus_options",
                    "cache_dir",
                    "tasks",
                    "pretrain_tasks",
                    "pretrain_samples",
                    "norm_samples",
                )
            }
        )
    )


@functools.lru_cache(maxsize=4)
def _tasks(key: str) -> tuple[tuple[str, EvalClips, EvalClips, int], ...]:
    data = _data(key)
    norm = data.get("eval_norm", "task")
    if norm not in ("task", "pretrain"):
        raise ValueError(f"eval_norm must be 'task' or 'pretrain', got {norm!r}")
    seconds = data.get("eval_seconds", {})
    out = []
    for name in data["tasks"]:
        if name not in seconds:
            raise ValueError(f"eval_seconds has no length for task {name!r}")
        corpus = load_task_corpus(name, data)
        fixed = pretraining_data(data)[2] if norm == "pretrain" else None
        train = EvalClips(ClipStore(corpus.train), corpus.labels("train"), seconds[name], fixed)
        test = EvalClips(ClipStore(corpus.test), corpus.labels("test"), seconds[name], train.stats)
        out.append((name, train, test, corpus.num_classes))
    return tuple(out)


def task_datasets(data: Mapping[str, Any]) -> list[Task]:
    """The downstream tasks ``data`` describes (train and test of whole, standardized clips)."""
    return [Task(name, train, test, classes) for name, train, test, classes in _tasks(_key(data))]


@MODALITIES.register("audio")
class Audio(Modality):
    """Audio: BYOL-A's log-mel pipeline and AudioNTT2020; offline corpora (AudioSet through HF); RQ on the one log-mel channel."""  # noqa: E501  (one line: the `rqbench list` summary)

    name = "audio"
    version = 2
    """2: the offline corpora have a recorded-like noise floor and noise padding, and ``speakers``
    clips are two sentences (:data:`~modalities.audio.cache.CORPUS_VERSION` 2); 1: clean synthetic,
    zero-padded clips. Part of every audio run's key, so runs on the old corpora are not reused."""
    debian_packages = (
        "espeak-ng",
        "flite",
        "libfluidsynth3",
        "fluid-soundfont-gm",
        "timgm6mb-soundfont",
        "tuxpaint-stamps-default",
    )
    layout = ChannelLayout(channel_dim=1, batch_dims=1)
    stage_order = (Stage.CHANNEL, Stage.VIEW)  # BYOL-A train.py: pre-norm -> mixup -> RRC -> post-norm
    presets = PRESETS
    show_specs = ("audio-rrc", "audio-rrc+rq(bins=5)", "audio-rrc+byola-mixup")

    def pretrain_dataset(self, preset: Preset) -> PretrainCrops:
        """One random, pre-normalized 0.95 s log-mel ``(1, 64, 96)`` per pretraining clip."""
        clips, indices, stats = pretraining_data(preset.data)
        return PretrainCrops(clips, stats, indices)

    def tasks(self, preset: Preset) -> list[Task]:
        return task_datasets(preset.data)

    def backbone_component(self, preset: Preset) -> object | None:
        return audio_encoder

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        options = {k: v for k, v in preset.backbone.items() if k != "name"}
        name = preset.backbone.get("name", "audio-ntt2020")
        if name != "audio-ntt2020":
            raise ValueError(f"unknown audio backbone {name!r}; backbones: audio-ntt2020")
        return audio_encoder(n_mels=N_MELS, **options)

    def show(self, preset: Preset, specs: list[str], n: int, path: Path, seed: int = 0) -> Path:
        """``n`` pretraining log-mels (pre-normalized 0.95 s crops) and one row of augmented, post-normalized
        views per spec.

        Each picture is rescaled to [0, 1] on its own for display, low frequencies at the bottom.
        """
        from modalities.images.show import view_grid

        data = self.pretrain_dataset(preset)
        if len(data) == 0:
            raise ValueError("the audio pretraining set is empty")
        gen = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(len(data), generator=gen)[:n].tolist()
        torch.manual_seed(seed)  # the crops use the global RNG
        x = torch.stack([data[i] for i in chosen])
        rows = []
        for spec in specs:
            pipeline = self.pipeline(spec, gen)
            rows.append((str(pipeline.spec), _display(PostNorm()(pipeline.views(x, 1).queries[0]))))
        return view_grid(_display(x), rows, path, original_label="log-mel")


def _display(x: Tensor) -> Tensor:
    """Log-mels ``(N, 1, F, T)`` rescaled to [0, 1] each, flipped so that low frequencies are at the bottom."""
    x = x.detach().float()
    flat = x.flatten(1)
    lo, hi = flat.min(1).values.view(-1, 1, 1, 1), flat.max(1).values.view(-1, 1, 1, 1)
    return ((x - lo) / (hi - lo).clamp_min(1e-12)).flip(-2)
