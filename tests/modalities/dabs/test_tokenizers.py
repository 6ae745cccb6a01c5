"""DABS input embeddings: patch / segment order known answers, shapes, packed pairs."""

from __future__ import annotations

import pytest
import torch

from modalities.dabs.tokenizers import (
    ConcatEmbedding,
    PatchEmbedding,
    SegmentEmbedding,
    TokenEmbedding,
    patchify,
    segments,
)
from modalities.dabs.transformer import TokenTransformer


def test_patchify_order_known_answer() -> None:
    x = torch.arange(2 * 4 * 4).float().reshape(1, 2, 4, 4)  # channel 0: 0..15, channel 1: 16..31
    p = patchify(x, 2)
    assert p.shape == (1, 4, 8)
    # first patch (top-left), flattened (p1, p2, c): channel fastest
    assert p[0, 0].tolist() == [0, 16, 1, 17, 4, 20, 5, 21]
    # second patch is the top-right one (row-major patches)
    assert p[0, 1].tolist() == [2, 18, 3, 19, 6, 22, 7, 23]


def test_segments_order_known_answer() -> None:
    x = torch.arange(10 * 2).float().reshape(1, 10, 2)  # (time, channel)
    s = segments(x, 5)
    assert s.shape == (1, 2, 10)
    assert s[0, 0].tolist() == list(range(10)) and s[0, 1].tolist() == list(range(10, 20))


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="not divisible"):
        patchify(torch.zeros(1, 1, 5, 4), 2)
    with pytest.raises(ValueError, match="not divisible"):
        SegmentEmbedding(12, 3, 5, 8)


def test_embedding_shapes_and_pairs() -> None:
    torch.manual_seed(0)
    img, tok = PatchEmbedding(3, 8, 8, 4, 16), TokenEmbedding(50, 6, 16)
    assert img(torch.rand(2, 3, 8, 8)).shape == (2, 4, 16) and img.length == 4
    assert SegmentEmbedding(20, 3, 5, 16)(torch.rand(2, 20, 3)).shape == (2, 4, 16)
    ids = torch.randint(0, 50, (2, 6))
    pix = torch.rand(2, 3 * 8 * 8)
    pair = ConcatEmbedding([(192, img), (6, tok)])
    out = pair(torch.cat([pix, ids.float()], 1))
    assert out.shape == (2, 10, 16) and pair.length == 10
    assert torch.allclose(out[:, :4], img(pix.reshape(2, 3, 8, 8))) and torch.equal(out[:, 4:], tok(ids))
    with pytest.raises(ValueError, match="packed sample"):
        pair(torch.zeros(2, 7))


def test_transformer_features() -> None:
    enc = TokenTransformer(10, dim=16, depth=1, heads=2, mlp_dim=32, dropout=0.0).eval()
    assert enc(torch.randn(3, 10, 16)).shape == (3, 16)
    with pytest.raises(ValueError, match="exceed"):
        enc(torch.randn(1, 11, 16))
