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
when a domain has fewer: sensors, medical, stamps), batch 128, 6 epochs (96 steps), AdamW 1e-3
(the e-Mix rate of 1e-4 hardly moves a model in a few hundred steps); text of 64 tokens with a
4,000-word vocabulary; evaluation sets capped at 2,000 training / 1,000 test samples, pooled and
scored by repeated stratified 5-fold x 2 (``eval.cv_folds``, ``eval.cv_repeats``: every score
averages 10 fits over all 3,000 labelled samples instead of one 1,000-sample test split); a
checkpoint every 80 steps, so a killed run resumes. Table 10's columns are kNN top-1 (k = 50);
the linear probe's rows are still written by every run (``rqbench.tables.paper_tables``:
``_T10_PROTOCOL``).

The preset was chosen on e-Mix (``infonce``, ``emix``, trained embedding: Table 10's row) against
the random-init encoder alone, never on RQ's rows (none were run). Paired differences e-Mix -
scratch over seeds 0-2 with their 95 % t intervals (``benchmarks/preset_trials.py``; one thread,
this 2-core CPU shared with an image benchmark; seconds per pretraining run per domain):

* before, 20 epochs, 2,000 / 1,000 train / test split (the committed Table 10 runs, seeds 0-2;
  speech then used the first, silence-padded spoken-words corpus): linear natural images
  +6.2 [2.6, 9.9], text -0.6 [-1.7, 0.5], speech +6.9 [-2.0, 15.9], sensors +3.9 [1.9, 5.8],
  medical -6.3 [-11.5, -1.0], stamps -3.2 [-5.9, -0.6] (2 of 6 above 0); kNN +14.1 [5.7, 22.6],
  +4.2 [1.5, 6.9], +19.7 [10.7, 28.6], +12.8 [7.8, 17.7], +11.4 [1.7, 21.0], +2.7 [-5.1, 10.4]
  (5 of 6); 42-233 s per run then (about 3 x faster than this CPU's shared state below);
* 10 epochs, 5-fold x 2, seed 0, natural images only: linear +2.0, kNN +14.6 (scratch 65.9 /
  42.9), 329 s;
* 6 epochs, 5-fold x 2 (chosen): linear +1.9 [-5.5, 9.2], +0.4 [0.3, 0.5], +5.4 [1.6, 9.3],
  -1.6 [-3.9, 0.7], -0.9 [-3.0, 1.2], +0.5 [-1.7, 2.8] (2 of 6 above 0); kNN +5.6 [2.4, 8.9],
  +6.0 [4.3, 7.7], +6.6 [4.0, 9.2], +6.7 [4.9, 8.5], -4.2 [-8.3, -0.2], +10.5 [8.6, 12.4]
  (5 of 6; the PigCVP medical stand-in, 52 classes, needs the longer pretraining: +11.4 at 20
  epochs); seconds per run 176 / 242 / 118 / 50 / 176 / 116 pretrained, 2-15 scratch.

So the linear probe does not separate pretraining from random init at either length (a linear
classifier on a random transformer's standardized features is already strong, and e-Mix's gain
is within its seed noise), while kNN, which reads the embedding's geometry that the contrastive
objective shapes, does on 5 of 6 domains with 6 epochs as with 20: 6 epochs cost 3.3 x less, so
``--until-decided`` affords more seeds. Table 10 at 3 seeds (e-Mix, RQ and scratch x 6 domains,
54 runs, RQ costed as e-Mix): about 1.5 CPU hours at the speeds above.
Text (20 Newsgroups, 20 classes) stays near the random encoder's level on the linear probe at this
scale even with dim 128 (21.8 scratch vs 22.3 e-Mix, seed 0, 20 epochs).

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
    epochs=6,
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
        protocols=("linear", "knn"),
        label_fractions=(1.0,),
        linear_epochs=100,
        linear_lr=1e-2,
        knn_k=50,
        batch_size=512,
        cv_folds=5,
        cv_repeats=2,
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
    # kNN too: Table 10's columns are kNN top-1 (see the module docstring); it costs one pass over the features
    eval=EvalSettings(
        protocols=("linear", "knn"), label_fractions=(1.0,), linear_epochs=100, linear_lr=1e-3, batch_size=256
    ),
)

PRESETS = {"quick": QUICK, "paper": PAPER}
