"""WordPiece vocabulary (HF tokenizers): determinism, caching, truncation counting, empty texts."""

from __future__ import annotations

import pytest

from modalities.dabs.wordpiece import SPECIAL_TOKENS, EmptyTextError, encode_texts, train_wordpiece

TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "a lazy afternoon with the brown dog",
    "foxes and dogs are animals",
] * 5


def test_canonical_ids_and_cached(tmp_path) -> None:
    a = train_wordpiece(TEXTS, 200, cache_dir=tmp_path / "a")
    vocab = sorted(a.get_vocab(), key=a.get_vocab().get)
    assert vocab[:5] == list(SPECIAL_TOKENS) and vocab[5:] == sorted(vocab[5:])
    assert len(list((tmp_path / "a" / "dabs").glob("wordpiece-*.json"))) == 1
    c = train_wordpiece(TEXTS, 200, cache_dir=tmp_path / "a")  # from the cache
    assert c.get_vocab() == a.get_vocab()


def test_encoding_pads_and_counts_truncation(tmp_path) -> None:
    tok = train_wordpiece(TEXTS, 200, cache_dir=tmp_path)
    enc = encode_texts(tok, ["dog", "the quick brown fox jumps over the lazy dog"], 6, report=False)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    assert enc.ids.shape == (2, 6) and enc.truncated == 1
    assert enc.ids[0, 0] == cls and enc.ids[0, 2] == sep and enc.ids[0, 3:].tolist() == [0, 0, 0]
    assert enc.ids[1, 0] == cls and enc.ids[1, -1] == sep


def test_empty_text_is_an_error(tmp_path) -> None:
    tok = train_wordpiece(TEXTS, 200, cache_dir=tmp_path)
    with pytest.raises(EmptyTextError, match="text 1 is empty"):
        encode_texts(tok, ["dog", "   "], 8)
    with pytest.raises(EmptyTextError):
        train_wordpiece(["", "x"], 100, cache_dir=tmp_path)
