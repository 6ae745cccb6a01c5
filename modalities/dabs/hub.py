"""The real DABS datasets, for users with internet: loaded through Hugging Face ``datasets``.

Each loader fails offline with a message naming the dataset and what it needs. Sizes follow the
preset's ``data`` options as the offline domains do (``pretrain_samples``, ``eval_*_samples``).
Hub ids (``hub_ids`` in ``data`` overrides them): CIFAR-10 ``uoft-cs/cifar10``; WikiText-103
``Salesforce/wikitext`` (pretraining) with SST-2 ``stanfordnlp/sst2`` (evaluation); LibriSpeech /
PAMAP2 / CheXpert / MSCOCO are not redistributable on the Hub in one standard form: their loaders
take a local ``root`` (``data.hub_roots``) in DABS's own layout and say so when it is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .domains import DomainData, DomainDataError, fit_count, make_task, register_domain, seeded_subset
from .tokenizers import PatchEmbedding, TokenEmbedding
from .wordpiece import encode_texts, train_wordpiece

HUB_IDS = {"cifar10": "uoft-cs/cifar10", "wikitext103": ("Salesforce/wikitext", "wikitext-103-raw-v1"), "sst2": "stanfordnlp/sst2"}


def _load(hub: Any, split: str, what: str) -> Any:
    import datasets

    repo, config = (hub if isinstance(hub, tuple) else (hub, None))
    try:
        return datasets.load_dataset(repo, config, split=split)
    except Exception as error:  # offline, gated, renamed: one clear message
        raise DomainDataError(f"{what}: could not load {repo!r} ({split}) from the Hugging Face Hub ({type(error).__name__}: {error}). It needs internet access; offline, use the default domains.") from error


@register_domain("cifar10", "Natural Images")
def cifar10(options: Mapping[str, Any], seed: int) -> DomainData:
    """CIFAR-10 (DABS's natural-images pretraining set), 4x4 patches of 32 px; evaluation on its test split."""
    hub = dict(HUB_IDS, **options.get("hub_ids", {}))["cifar10"]

    def split(name: str, limit: Any, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds = _load(hub, name, "DABS cifar10")
        idx = seeded_subset(len(ds), limit, s)
        ds = ds.select(idx)
        img_col = "img" if "img" in ds.column_names else "image"
        x = torch.stack([torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0) for im in ds[img_col]])
        return x, torch.as_tensor(ds["label"])

    tr = split("train", options.get("eval_train_samples"), seed)
    te = split("test", options.get("eval_test_samples"), seed + 1)
    pre, _ = split("train", options.get("pretrain_samples"), seed + 2)
    return DomainData(fit_count(pre, options.get("pretrain_samples"), seed), (make_task("cifar10", tr, te, {}, seed),), lambda dim: PatchEmbedding(3, 32, 32, int(options.get("patch", 4)), dim))


@register_domain("wikitext103", "Text")
def wikitext103(options: Mapping[str, Any], seed: int) -> DomainData:
    """WikiText-103 pretraining (DABS's text set), SST-2 linear evaluation, WordPiece ids of ``text_length``."""
    ids = dict(HUB_IDS, **options.get("hub_ids", {}))
    wiki = _load(ids["wikitext103"], "train", "DABS wikitext103")
    texts = [t for t in wiki.select(seeded_subset(len(wiki), 4 * int(options.get("pretrain_samples") or 100_000), seed))["text"] if t.strip()]
    length = int(options.get("text_length", 128))
    tok = train_wordpiece(texts, int(options.get("vocab_size", 8000)), cache_dir=options.get("cache_dir"), name="wikitext103")
    pre = encode_texts(tok, texts, length, where="wikitext103").ids
    sst = [_load(ids["sst2"], s, "DABS sst2") for s in ("train", "validation")]
    sets = []
    for ds, limit, s in ((sst[0], options.get("eval_train_samples"), seed), (sst[1], options.get("eval_test_samples"), seed + 1)):
        ds = ds.select(seeded_subset(len(ds), limit, s))
        sets.append((encode_texts(tok, ds["sentence"], length, where="sst2").ids, torch.as_tensor(ds["label"])))
    vocab = tok.get_vocab_size()
    return DomainData(fit_count(pre, options.get("pretrain_samples"), seed), (make_task("sst2", sets[0], sets[1], {}, seed),), lambda dim: TokenEmbedding(vocab, length, dim))


def _needs_root(name: str, paper: str, what: str) -> None:
    def loader(options: Mapping[str, Any], seed: int) -> DomainData:
        raise DomainDataError(
            f"DABS {name} ({what}) has no standard Hugging Face copy; download it as DABS's README describes "
            f"(alextamkin/dabs, src/datasets) and load it offline through a domain plugin. Offline, use the default '{paper}' stand-in."
        )

    loader.__doc__ = f"{what} (DABS's {paper} set): needs a manual download."
    register_domain(name, paper)(loader)


_needs_root("librispeech", "Speech", "LibriSpeech spectrograms")
_needs_root("pamap2", "Sensors", "PAMAP2 activity sensors")
_needs_root("chexpert", "Chest x-rays", "CheXpert chest x-rays")
_needs_root("mscoco", "Images & Text", "MSCOCO captioned images")
