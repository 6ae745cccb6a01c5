"""Text -> token ids: a WordPiece vocabulary trained offline with HF ``tokenizers`` (BERT-style).

The vocabulary is trained on the pretraining texts only, is deterministic for its inputs, and is
cached as ``tokenizer.json`` under ``cache_root()/dabs/`` keyed by a hash of the texts and the
settings. Encoding adds ``[CLS] ... [SEP]``, pads with ``[PAD]`` (id 0) and truncates to a fixed
length; how many texts were truncated is counted and reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rqbench.cache import cache_root
from rqbench.errors import InputError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
INSTALL = "pip install tokenizers"


class EmptyTextError(ValueError, InputError):
    """A text with no characters to tokenize."""


def _tokenizers():
    try:
        import tokenizers
    except ImportError as error:
        raise ImportError(f"the DABS text domains need HF tokenizers: {INSTALL}") from error
    return tokenizers


def check_texts(texts: Sequence[str], where: str) -> None:
    """Raise :class:`EmptyTextError` naming the first empty (or whitespace-only) text of ``where``."""
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise EmptyTextError(f"{where}: text {i} is empty; drop empty texts before tokenizing")


def train_wordpiece(
    texts: Sequence[str], vocab_size: int, *, cache_dir: str | os.PathLike[str] | None = None, name: str = "text"
):
    """A BERT-style WordPiece tokenizer trained on ``texts`` (lower-cased), cached by content hash."""
    tokenizers = _tokenizers()
    check_texts(texts, f"{name} pretraining texts")
    digest = hashlib.sha256(json.dumps([vocab_size, *texts]).encode()).hexdigest()[:16]
    path = cache_root(cache_dir) / "dabs" / f"wordpiece-v2-{name}-{vocab_size}-{digest}.json"
    if path.is_file():
        return tokenizers.Tokenizer.from_file(str(path))
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    # canonical ids: special tokens first, then the learned tokens sorted (HF's trainer breaks
    # frequency ties in hash order, so the id order, and rarely the last tokens, vary between
    # trainings; the cache makes a trained vocabulary the one every later run uses)
    learned = sorted(t for t in tok.get_vocab() if t not in SPECIAL_TOKENS)
    tok.model = models.WordPiece({t: i for i, t in enumerate([*SPECIAL_TOKENS, *learned])}, unk_token="[UNK]")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tok.save(str(tmp))
    os.replace(tmp, path)
    return tok


@dataclass(frozen=True)
class EncodedTexts:
    """Token ids ``(N, length)`` (int64, ``[PAD]`` = 0) and how many texts were truncated."""

    ids: Tensor
    truncated: int


def encode_texts(
    tokenizer, texts: Sequence[str], length: int, *, where: str = "texts", report: bool = True
) -> EncodedTexts:
    """``[CLS] tokens [SEP]`` padded / truncated to ``length``; truncations are counted (and reported)."""
    if length < 3:
        raise ValueError(f"sequence length must be at least 3 ([CLS] x [SEP]), got {length}")
    check_texts(texts, where)
    cls, sep, pad = (tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    out = torch.full((len(texts), length), pad, dtype=torch.long)
    truncated = 0
    for i, enc in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids = enc.ids
        if len(ids) > length - 2:
            truncated += 1
            ids = ids[: length - 2]
        row = [cls, *ids, sep]
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    if report and truncated:
        print(
            f"{where}: {truncated} of {len(texts)} texts were longer than {length} tokens and were truncated",
            file=sys.stderr,
        )
    return EncodedTexts(out, truncated)


__all__ = ["SPECIAL_TOKENS", "EmptyTextError", "EncodedTexts", "check_texts", "encode_texts", "train_wordpiece"]
