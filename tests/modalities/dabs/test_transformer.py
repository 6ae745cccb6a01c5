"""DABS's encoder (alextamkin/dabs ``src/models/transformer.py``): sizes, shapes, the forward formula;
the paper preset's step-based recipe with DABS's per-dataset batch sizes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from modalities.dabs.modality import build_backbone
from modalities.dabs.presets import PAPER, PAPER_BATCH_SIZES, QUICK, paper_batch_size
from modalities.dabs.transformer import TokenTransformer
from rqbench.code_identity import identity
from rqbench.preset import Preset


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_size_parameter_count_and_shapes() -> None:
    """Per block: 2 LayerNorms (2 x 512), to_qkv 256 x 1536 without bias, to_out 512 -> 256, MLP 256 -> 512
    -> 256: 788,480; 12 blocks 9,461,760; + CLS and 65 positions (64 tokens) = 9,478,656 (was 6.34M)."""
    enc = TokenTransformer(64, dim=256, depth=12, heads=8, mlp_dim=512, dropout=0.1)
    assert count(enc.blocks) == 12 * 788_480 == 9_461_760
    assert count(enc) == 9_478_656 and round(count(enc) / 1e6, 2) == 9.48
    block = enc.blocks[0]
    assert block.attn.to_qkv.weight.shape == (1536, 256) and block.attn.to_qkv.bias is None
    assert block.attn.to_out[0].weight.shape == (256, 512) and block.attn.to_out[1].p == 0.1
    assert [m.weight.shape for m in block.mlp if isinstance(m, nn.Linear)] == [(512, 256), (256, 512)]
    assert [m.p for m in block.mlp if isinstance(m, nn.Dropout)] == [0.1, 0.1]
    assert isinstance(block.mlp[1], nn.GELU)
    assert sum(isinstance(m, nn.LayerNorm) for m in enc.modules()) == 24  # none before pooling
    assert enc.pos_embedding.shape == (1, 65, 256) and enc.dropout.p == 0.1
    assert enc(torch.randn(2, 64, 256)).shape == (2, 256)


def test_one_head_as_wide_as_the_model_has_no_output_projection() -> None:
    """DABS line 43: ``project_out = not (heads == 1 and dim_head == dim)``."""
    assert isinstance(
        TokenTransformer(4, dim=16, depth=1, heads=1, head_dim=16, mlp_dim=8).blocks[0].attn.to_out, nn.Identity
    )


def dabs_forward(enc: TokenTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """DABS's encode() written out (eval mode: dropout off), read off the module's weights."""
    b, n, _ = tokens.shape
    x = torch.cat([enc.cls_token.expand(b, -1, -1), tokens], 1) + enc.pos_embedding[:, : n + 1]
    for block in enc.blocks:
        attn = block.attn
        h, d = attn.heads, attn.head_dim
        q, k, v = attn.to_qkv(block.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n + 1, h, d).transpose(1, 2) for t in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
        x = attn.to_out((weights @ v).transpose(1, 2).reshape(b, n + 1, h * d)) + x
        x = block.mlp(block.norm2(x)) + x
    return x


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_forward_is_dabs_formula(pool: str) -> None:
    torch.manual_seed(0)
    enc = TokenTransformer(5, dim=12, depth=2, heads=3, head_dim=4, mlp_dim=20, pool=pool).eval()
    tokens = torch.randn(2, 4, 12)
    x = dabs_forward(enc, tokens)
    expected = x.mean(dim=1) if pool == "mean" else x[:, 0]
    torch.testing.assert_close(enc(tokens), expected)


def test_embedding_dropout_is_its_own_setting() -> None:
    torch.manual_seed(0)
    tokens = torch.randn(2, 4, 8)
    quiet = TokenTransformer(4, dim=8, depth=1, heads=2, head_dim=4, mlp_dim=8, dropout=0.0)
    torch.testing.assert_close(quiet.train()(tokens), quiet.eval()(tokens))
    noisy = TokenTransformer(4, dim=8, depth=1, heads=2, head_dim=4, mlp_dim=8, dropout=0.0, emb_dropout=0.5)
    assert noisy.dropout.p == 0.5 and not torch.allclose(noisy.train()(tokens), noisy.eval()(tokens))


def test_backbone_factory_version_joins_the_run_key() -> None:
    assert build_backbone.version == 2 and identity(build_backbone) == "v2"


def test_paper_preset_runs_dabs_steps_with_per_domain_batch_sizes() -> None:
    """DABS ``conf/pretrain.yaml`` max_steps 100,000; ``conf/dataset/*.yaml`` batch sizes."""
    assert PAPER.steps == 100_000 and PAPER.data["domain"] == "natural_images" and PAPER.batch_size == 64
    assert PAPER_BATCH_SIZES == {
        "Natural Images": 64,
        "Speech": 64,
        "Chest x-rays": 64,
        "Images & Text": 64,
        "Text": 128,
        "Sensors": 256,
    }
    expected = {
        "natural_images": 64,
        "cifar10": 64,
        "speech": 64,
        "librispeech": 64,
        "medical": 64,
        "chexpert": 64,
        "captioned_images": 64,
        "mscoco": 64,
        "text": 128,
        "wikitext103": 128,
        "sensors": 256,
        "pamap2": 256,
    }
    for domain, batch in expected.items():
        assert paper_batch_size(domain) == batch
        preset = PAPER.with_overrides(**{"data.domain": domain})
        assert (preset.batch_size, preset.steps) == (batch, 100_000)
        assert PAPER.with_overrides(data={**PAPER.data, "domain": domain}).batch_size == batch
    text = PAPER.with_overrides(**{"data.domain": "text"})
    assert text.with_overrides(**{"data.domain": "sensors"}).batch_size == 256
    assert text.with_overrides(epochs=3).batch_size == 128  # the domain did not change
    assert PAPER.with_overrides(batch_size=32, **{"data.domain": "text"}).batch_size == 32  # explicit wins
    assert paper_batch_size("no-such-domain") == 64


def test_quick_preset_keeps_its_epochs_and_batch() -> None:
    assert type(QUICK) is Preset and QUICK.steps is None and (QUICK.epochs, QUICK.batch_size) == (6, 128)
    assert (QUICK.eval.cv_folds, QUICK.eval.cv_repeats) == (5, 2) and "knn" in PAPER.eval.protocols
    assert QUICK.with_overrides(**{"data.domain": "sensors"}).batch_size == 128
