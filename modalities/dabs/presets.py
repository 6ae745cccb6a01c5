"""Presets of the DABS modality: ``quick`` (one domain's run in a few CPU minutes) and ``paper``.

``paper`` is the paper's Section 5.4 setting on DABS's recipe (Tamkin et al. 2021): Transformer
dim 256, depth 12, 8 heads of 64, MLP 512, dropout 0.1, CLS token, mean pooling; AdamW lr 1e-4,
weight decay 1e-4; a fixed 100,000 steps (``steps``; DABS ``conf/pretrain.yaml`` line 16,
``max_steps: 100_000``) at DABS's per-dataset batch size, which follows ``data.domain``
(:data:`PAPER_BATCH_SIZES`: 64 for natural images, speech, x-rays and captioned images, 128 for
text, 256 for sensors); the e-Mix contrastive objective (``infonce``,
T = 0.2, head to 128); DABS's linear protocol (encoder frozen, a linear classifier on the
pooled 256-d features, Adam 1e-4 for 100 epochs in DABS; here our probe's settings), text of 128
WordPiece tokens, full offline sets.

``quick`` keeps the recipe at a scale that pretrains and evaluates one domain in 1-4 minutes on
one CPU core: dim 64, depth 2, 4 heads, MLP 128; 2,048 pretraining samples per epoch (cycled
when a domain has fewer: sensors, medical, stamps), batch 128, 20 epochs (320 steps), AdamW 1e-3
(the e-Mix rate of 1e-4 hardly moves a model in a few hundred steps); text of 64 tokens with a
4,000-word vocabulary; evaluation sets capped at 2,000 training / 1,000 test samples; a
checkpoint every 80 steps (5 epochs), so a killed run resumes. The first quick preset
pretrained 6 epochs (96 steps): every pretrained row then sat within about 1 point
of the random encoder on average; with 20 epochs e-Mix is 6-7 points above it on natural images
and speech, RQ (8 bins) 1.5-3.5 (Table 10, 3 seeds). Text (20 Newsgroups, 20 classes) stays at
the random encoder's level at this scale even with dim 128 (21.8 scratch vs 22.3 e-Mix, seed 0).

The input embedding is frozen at its random initialization (``backbone.freeze_embedding``,
default True: the paper's setting for RQ, whose gradient is zero); the e-Mix baseline trains it
as DABS does (Table 10 sets ``backbone.freeze_embedding=False`` on its e-Mix row).

Data options (``preset.data``): ``domain`` (see ``rqbench list`` / :data:`~modalities.dabs.domains.DOMAINS`),
``pretrain_samples``, ``eval_train_samples``, ``eval_test_samples``, ``extra_tasks`` (also the
second evaluation sets: MNIST, Reuters R8 + fortunes, language ID), ``data_seed``, ``cache_dir``,
and per-domain ones (``text_length``, ``vocab_size``, ``patch``, ``speech_patch``,
``series_length``, ``segment``, ``sensor_sets``, ``image_size``, ``caption_length``); the real
DABS sets (:mod:`modalities.dabs.hub`) also read ``hub_ids``, ``hub_roots``,
``librispeech_splits``, ``pamap2_stride``, ``standardize``, ``chexpert_labels`` and ``caption_vocab``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rqbench.preset import EvalSettings, Preset

PAPER_BATCH_SIZES: dict[str, int] = {
    "Natural Images": 64,  # conf/dataset/imagenet.yaml (and cifar10.yaml)
    "Speech": 64,  # conf/dataset/librispeech.yaml
    "Chest x-rays": 64,  # conf/dataset/chexpert.yaml (and xray8.yaml)
    "Images & Text": 64,  # conf/dataset/mscoco.yaml
    "Text": 128,  # conf/dataset/wikitext103.yaml
    "Sensors": 256,  # conf/dataset/pamap2.yaml
}
"""DABS's pretraining batch size per paper domain (alextamkin/dabs at 72657bc: ``batch_size``, line 6 of each file)."""
PAPER_STEPS = 100_000
"""DABS's pretraining length in optimizer steps (``conf/pretrain.yaml`` line 16, ``max_steps``)."""


def paper_batch_size(domain: str) -> int:
    """DABS's batch size for the paper domain that rqbench's ``domain`` stands in for (64, DABS's usual, if none)."""
    from .domains import DOMAINS, PAPER_DOMAIN  # lazily: loading the domains imports their modules

    if domain not in DOMAINS:
        return 64
    return PAPER_BATCH_SIZES.get(PAPER_DOMAIN.get(domain, ""), 64)


@dataclass(frozen=True)
class DomainBatchPreset(Preset):
    """A preset whose batch size follows its DABS domain (``data.domain``), as DABS's per-dataset configs.

    An override that changes the domain and does not set ``batch_size`` also sets the batch size to
    :func:`paper_batch_size` of the new domain; an explicit ``batch_size`` always wins.
    """

    def with_overrides(self, **overrides: Any) -> Preset:
        """:meth:`Preset.with_overrides`, then the new domain's batch size if the domain changed."""
        out = super().with_overrides(**overrides)
        domain = out.data.get("domain")
        if "batch_size" in overrides or not isinstance(domain, str) or domain == self.data.get("domain"):
            return out
        return dataclasses.replace(out, batch_size=paper_batch_size(domain))


HEADS: dict[str, dict[str, Any]] = {
    "infonce": {"temperature": 0.2, "proj_dim": 128},
    "moco": {
        "temperature": 0.2,
        "proj_layers": 3,
        "proj_hidden": 1024,
        "proj_dim": 128,
        "pred_hidden": 1024,
        "pred_last_bn": True,
    },
    "byol": {"proj_hidden": 1024, "proj_dim": 128, "pred_hidden": 1024},
}

QUICK = Preset(
    name="quick",
    epochs=20,
    batch_size=128,
    optimizer="adamw",
    lr=1e-3,
    lr_scaling=False,
    weight_decay=1e-4,
    warmup_epochs=0.5,
    methods={
        "infonce": {"temperature": 0.2, "proj_dim": 64},
        "moco": {"temperature": 0.2, "proj_layers": 2, "proj_hidden": 256, "proj_dim": 64, "pred_hidden": 256},
        "byol": {"proj_hidden": 256, "proj_dim": 64, "pred_hidden": 256},
    },
    backbone={
        "name": "dabs-transformer",
        "dim": 64,
        "depth": 2,
        "heads": 4,
        "mlp_dim": 128,
        "dropout": 0.1,
        "pool": "mean",
        "freeze_embedding": True,
    },
    data={
        "domain": "natural_images",
        "pretrain_samples": 2048,
        "eval_train_samples": 2000,
        "eval_test_samples": 1000,
        "extra_tasks": False,
        "text_length": 64,
        "vocab_size": 4000,
    },
    checkpoint_every=80,
    eval=EvalSettings(
        protocols=("linear", "knn"), label_fractions=(1.0,), linear_epochs=100, linear_lr=1e-2, knn_k=50, batch_size=512
    ),
)

PAPER = DomainBatchPreset(
    name="paper",
    epochs=100,  # decides nothing: ``steps`` is set
    batch_size=64,  # natural_images; other domains: PAPER_BATCH_SIZES (DomainBatchPreset)
    steps=PAPER_STEPS,
    optimizer="adamw",
    lr=1e-4,
    lr_scaling=False,
    weight_decay=1e-4,
    methods=HEADS,
    backbone={
        "name": "dabs-transformer",
        "dim": 256,
        "depth": 12,
        "heads": 8,
        "mlp_dim": 512,
        "dropout": 0.1,
        "pool": "mean",
        "freeze_embedding": True,
    },
    data={
        "domain": "natural_images",
        "pretrain_samples": None,
        "eval_train_samples": None,
        "eval_test_samples": None,
        "extra_tasks": True,
        "text_length": 128,
        "vocab_size": 30000,
    },
    checkpoint_every=1000,
    eval=EvalSettings(protocols=("linear",), label_fractions=(1.0,), linear_epochs=100, linear_lr=1e-3, batch_size=256),
)

PRESETS = {"quick": QUICK, "paper": PAPER}
