"""WikiText-103, DABS's text set (HF ``Salesforce/wikitext``), with SST-2 (``stanfordnlp/sst2``) for evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..domains import DomainData, fit_count, make_task, register_domain, seeded_subset
from ..tokenizers import TokenEmbedding
from ..wordpiece import encode_texts, train_wordpiece
from .sources import _load, hub_sources


@register_domain("wikitext103", "Text")
def wikitext103(options: Mapping[str, Any], seed: int) -> DomainData:
    """WikiText-103 pretraining (DABS's text set), SST-2 linear evaluation, WordPiece ids of ``text_length``."""
    ids = hub_sources(options)
    wiki = _load(ids["wikitext103"], "train", "wikitext103")
    texts = [
        t
        for t in wiki.select(seeded_subset(len(wiki), 4 * int(options.get("pretrain_samples") or 100_000), seed))[
            "text"
        ]
        if t.strip()
    ]
    length = int(options.get("text_length", 128))
    tok = train_wordpiece(
        texts, int(options.get("vocab_size", 8000)), cache_dir=options.get("cache_dir"), name="wikitext103"
    )
    pre = encode_texts(tok, texts, length, where="wikitext103").ids
    sst = [_load(ids["sst2"], s, "sst2") for s in ("train", "validation")]
    sets = []
    for ds, limit, s in (
        (sst[0], options.get("eval_train_samples"), seed),
        (sst[1], options.get("eval_test_samples"), seed + 1),
    ):
        ds = ds.select(seeded_subset(len(ds), limit, s))
        sets.append((encode_texts(tok, ds["sentence"], length, where="sst2").ids, torch.as_tensor(ds["label"])))
    vocab = tok.get_vocab_size()
    return DomainData(
        fit_count(pre, options.get("pretrain_samples"), seed),
        (make_task("sst2", sets[0], sets[1], {}, seed),),
        lambda dim: TokenEmbedding(vocab, length, dim),
    )
