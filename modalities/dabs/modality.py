"""The DABS modality (registered as ``dabs``): domain-agnostic pretraining on token embeddings, paper Section 5.4.

=====================  ===========================================================================
pretraining item       one domain's raw input (image, token ids, series, packed image + caption),
                       from the domain loader named by ``preset.data["domain"]``
                       (:data:`~modalities.dabs.domains.DOMAINS`); each domain is pretrained alone
``view`` (x2)          identity (DABS has no domain-specific views)
input embedding        the domain's tokenizer -> ``(B, L, D)`` (:mod:`modalities.dabs.tokenizers`);
                       the first part of an :class:`~rqbench.embedding.EmbeddedBackbone`, run by
                       the trainer before the channel stage; frozen at random init unless
                       ``backbone.freeze_embedding`` is False (e-Mix trains it)
channel stage          the generic augmentation on ``(B, L, D)``, channel = D
                       (``layout = ChannelLayout(channel_dim=-1)``): ``rq``, ``dacl``, ``mixup``,
                       ``none``; mixing: ``emix`` (partner detached)
encoder                :class:`~modalities.dabs.transformer.TokenTransformer` (CLS + mean pool)
method                 ``infonce`` (DABS e-Mix's contrastive objective); ``moco``, ``byol`` too
evaluation             DABS's linear protocol on each domain's evaluation sets (raw input ->
                       frozen embedding + encoder -> pooled features -> linear classifier)
=====================  ===========================================================================
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, cast

from torch import nn
from torch.utils.data import Dataset, TensorDataset

from rqbench.augment.base import ChannelLayout
from rqbench.embedding import EmbeddedBackbone
from rqbench.modality import MODALITIES, Modality, Task
from rqbench.preset import Preset

from .domains import DomainData, load_domain
from .presets import PRESETS
from .transformer import TokenTransformer

__all__ = ["Dabs", "domain_data"]

_BACKBONE_KEYS = ("dim", "depth", "heads", "mlp_dim", "dropout", "pool", "head_dim", "emb_dropout")


@functools.lru_cache(maxsize=4)
def _domain_data(key: str) -> DomainData:
    data = json.loads(key)
    if "domain" not in data:
        raise ValueError("the dabs modality needs a domain: --set data.domain=NAME (see `rqbench list`)")
    return load_domain(data["domain"], data, int(data.get("data_seed", 0)))


def domain_data(data: Mapping[str, Any]) -> DomainData:
    """The loaded domain ``data["domain"]`` with these options (loaded once per process)."""
    return _domain_data(json.dumps(dict(data), sort_keys=True, default=list))


def build_backbone(domain: DomainData, settings: Mapping[str, Any]) -> tuple[EmbeddedBackbone, int]:
    """The domain's embedding + the Transformer, ``settings`` as ``preset.backbone``; the embedding frozen if asked."""
    unknown = sorted(set(settings) - {*_BACKBONE_KEYS, "name", "freeze_embedding"})
    if unknown:
        raise ValueError(
            f"unknown dabs backbone setting(s) {', '.join(unknown)}; "
            f"settings: {', '.join((*_BACKBONE_KEYS, 'freeze_embedding'))}"
        )
    kwargs = {k: settings[k] for k in _BACKBONE_KEYS if k in settings}
    dim = int(kwargs.get("dim", 256))
    embedding = domain.embedding(dim)
    if settings.get("freeze_embedding", True):
        embedding.requires_grad_(False)
    encoder = TokenTransformer(int(cast(int, embedding.length)), **kwargs)
    return EmbeddedBackbone(embedding, encoder), dim


build_backbone.version = 2  # type: ignore[attr-defined]
"""2: DABS's encoder (:mod:`modalities.dabs.transformer`): 64-d heads, N(0, 1) CLS and positions,
dropout on the embeddings, no LayerNorm before pooling; 1 was PyTorch's ``TransformerEncoderLayer``."""


@MODALITIES.register("dabs")
class Dabs(Modality):
    """DABS (Tamkin et al. 2021): one Transformer recipe for every domain, on token embeddings; channel = embedding dim."""  # noqa: E501  (one line: the `rqbench list` summary)

    name = "dabs"
    # speech reuses the audio corpora (TTS words, tuxpaint language ID); images the Tux Paint stamps; text the fortunes
    debian_packages = ("espeak-ng", "flite", "tuxpaint-stamps-default", "fortunes", "fortunes-min")
    layout = ChannelLayout(channel_dim=-1, batch_dims=1)
    presets = PRESETS

    def pretrain_dataset(self, preset: Preset) -> Dataset:
        return TensorDataset(domain_data(preset.data).pretrain)

    def tasks(self, preset: Preset) -> list[Task]:
        return [
            Task(
                t.name, TensorDataset(t.train_x, t.train_y), TensorDataset(t.test_x, t.test_y), t.num_classes, t.metric
            )
            for t in domain_data(preset.data).tasks
        ]

    def backbone_component(self, preset: Preset) -> object | None:
        return build_backbone

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        return build_backbone(domain_data(preset.data), preset.backbone)
