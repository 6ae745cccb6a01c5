"""Speech domain: the audio modality's spoken-word corpus as log-mel patches (DABS: LibriSpeech spectrograms).

Stands in for LibriSpeech pretraining + Speech Commands transfer (the paper's "Speech"): each clip
centred in 1 s, as the audio modality's standardized 64-band log-mel (``(1, 64, T)``, cropped to
96 frames), cut into ``speech_patch`` x ``speech_patch`` patches -> Linear. Pretraining: the
training clips of ``words`` (35 classes); evaluation: ``spoken_words`` and, with ``extra_tasks``,
spoken-language ID (``langid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .domains import DomainData, fit_count, make_task, register_domain, seeded_subset
from .tokenizers import PatchEmbedding

FRAMES = 96


def _logmels(
    corpus: Any, split: str, limit: int | None, seed: int, stats: Any = None
) -> tuple[torch.Tensor, torch.Tensor, Any]:
    from modalities.audio.data import ClipStore, EvalClips

    labels = corpus.labels(split)
    idx = seeded_subset(len(labels), limit, seed)
    store = ClipStore(corpus.split(split).select(idx))
    clips = EvalClips(store, labels[idx], seconds=1.0, stats=stats)
    x = torch.stack([clips[i][0][..., :FRAMES] for i in range(len(clips))])
    return x, torch.from_numpy(np.asarray(labels[idx])), clips.stats


def _corpus(name: str, options: Mapping[str, Any]) -> Any:
    from modalities.audio.cache import load_corpus

    return load_corpus(
        name, scale=options.get("speech_scale", "quick"), cache_dir=options.get("cache_dir"), progress=False
    )


@register_domain("speech", "Speech")
def speech(options: Mapping[str, Any], seed: int) -> DomainData:
    """Spoken words (35 classes, primary) and language ID (``extra_tasks``) as log-mel patch tokens."""
    tasks = []
    words = _corpus("words", options)
    tr, ytr, stats = _logmels(words, "train", options.get("eval_train_samples"), seed)
    te, yte, _ = _logmels(words, "test", options.get("eval_test_samples"), seed + 1, stats)
    tasks.append(make_task("spoken_words", (tr, ytr), (te, yte), {}, seed))
    pre, _, _ = _logmels(words, "train", options.get("pretrain_samples"), seed + 2, stats)
    if options.get("extra_tasks"):
        lang = _corpus("langid", options)
        a, ya, s2 = _logmels(lang, "train", options.get("eval_train_samples"), seed)
        b, yb, _ = _logmels(lang, "test", options.get("eval_test_samples"), seed + 1, s2)
        tasks.append(make_task("langid", (a, ya), (b, yb), {}, seed))
    patch = int(options.get("speech_patch", 16))
    shape = tuple(pre.shape[1:])
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: PatchEmbedding(shape[0], shape[1], shape[2], patch, dim),
        info={"pretrain_available": len(pre)},
    )
