"""The dabs modality end to end: frozen vs trained embedding, a tiny real run, and the quick preset (slow)."""

from __future__ import annotations

import json
import math

import pytest
import torch

import modalities.dabs.modality  # noqa: F401  (registers the modality; the entry point does it for users)
from rqbench.modality import MODALITIES
from rqbench.runner import Workspace, make_config, run
from rqbench.train.loop import build_method, pretrain

TINY = {
    "data.domain": "sensors",
    "data.pretrain_samples": 64,
    "data.eval_train_samples": 64,
    "data.eval_test_samples": 64,
    "backbone.dim": 16,
    "backbone.depth": 1,
    "backbone.heads": 2,
    "backbone.mlp_dim": 32,
    "batch_size": 32,
    "epochs": 1,
    "eval.linear_epochs": 5,
}


def _embedding_after(aug: str, tmp_path, **extra) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    cfg = make_config("dabs", "infonce", aug, **{**TINY, **extra})
    modality = MODALITIES.get("dabs")()
    before = {k: v.clone() for k, v in build_method(cfg, modality).input_embedding.state_dict().items()}
    result = pretrain(cfg, modality, tmp_path / aug, progress=False)
    return result.method.input_embedding, before


def test_rq_keeps_the_embedding_frozen(tmp_path) -> None:
    emb, before = _embedding_after("rq", tmp_path)
    assert all(not p.requires_grad for p in emb.parameters())
    assert all(torch.equal(v, before[k]) for k, v in emb.state_dict().items())


def test_emix_trains_the_embedding(tmp_path) -> None:
    emb, before = _embedding_after("emix", tmp_path, **{"backbone.freeze_embedding": False})
    assert all(p.requires_grad for p in emb.parameters())
    assert any(not torch.equal(v, before[k]) for k, v in emb.state_dict().items())


def test_unknown_backbone_setting() -> None:
    cfg = make_config("dabs", "infonce", "rq", **{**TINY, "backbone.width": 3})
    with pytest.raises(ValueError, match="unknown dabs backbone setting"):
        MODALITIES.get("dabs")().backbone(cfg.preset)


@pytest.mark.parametrize("method", ["infonce", "moco"])
def test_tiny_end_to_end_run(tmp_path, method: str) -> None:
    cfg = make_config("dabs", method, "rq(bins=5)", **TINY)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    linear = rows[(rows["protocol"] == "linear") & (rows["dataset"] == "japanese_vowels")]
    assert len(linear) == 1 and 0.0 <= float(linear["value"].iloc[0]) <= 100.0
    assert set(rows["dataset"]) == {"japanese_vowels", "basic_motions"}


def test_scratch_run_evaluates_the_whole_backbone(tmp_path) -> None:
    cfg = make_config("dabs", "infonce", "none", pretrain=False, **{**TINY, "data.domain": "medical"})
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["dataset"]) == {"pig_cvp"}


@pytest.mark.slow
@pytest.mark.parametrize("aug", ["rq", "emix"])
def test_quick_preset_natural_images(tmp_path, aug: str) -> None:
    extra = {"backbone.freeze_embedding": False} if aug == "emix" else {}
    rows = run(
        make_config("dabs", "infonce", aug, **{"data.domain": "natural_images", **extra}),
        Workspace(tmp_path),
        progress=False,
    )
    linear = rows[(rows["protocol"] == "linear") & (rows["dataset"] == "fashion_mnist")]
    assert float(linear["value"].iloc[0]) > 30.0


@pytest.mark.parametrize("aug", ["none", "mixup", "dacl"])
def test_other_augmentations_act_on_the_embeddings(tmp_path, aug: str) -> None:
    emb, before = _embedding_after(aug, tmp_path)
    assert all(torch.equal(v, before[k]) for k, v in emb.state_dict().items())  # frozen by default
    losses = [json.loads(line)["loss"] for line in (tmp_path / aug / "metrics.jsonl").read_text().splitlines()]
    assert losses and all(math.isfinite(x) for x in losses)


def test_paper_preset_is_the_papers_recipe_and_encoder() -> None:
    """Paper Section 5.4 / DABS: Transformer 256 x 12 layers, 8 heads of 64, MLP 512, dropout 0.1, CLS
    token; AdamW 1e-4, wd 1e-4; 100,000 steps at PAMAP2's batch 256 for sensors."""
    cfg = make_config("dabs", "infonce", "rq", preset="paper", **{"data.domain": "sensors"})
    p = cfg.preset
    assert (p.optimizer, p.lr, p.weight_decay, p.batch_size, p.steps) == ("adamw", 1e-4, 1e-4, 256, 100_000)
    assert p.data["text_length"] == 128 and p.data["extra_tasks"] is True
    backbone, dim = MODALITIES.get("dabs")().backbone(p)
    encoder = backbone.encoder
    blocks = list(encoder.blocks)
    assert dim == 256 and len(blocks) == 12 and encoder.cls_token.shape == (1, 1, 256)
    assert encoder.dropout.p == 0.1
    for block in blocks:
        assert block.attn.heads == 8 and block.attn.to_qkv.weight.shape == (1536, 256)
        assert (block.mlp[0].in_features, block.mlp[0].out_features) == (256, 512)
        assert block.mlp[2].p == block.mlp[4].p == block.attn.to_out[1].p == 0.1
    assert all(not q.requires_grad for q in backbone.embedding.parameters())  # frozen for RQ (the paper)
    sample = MODALITIES.get("dabs")().pretrain_dataset(p)[0][0]
    backbone.eval()
    with torch.no_grad():
        assert backbone(sample[None].expand(2, *sample.shape)).shape == (2, 256)
