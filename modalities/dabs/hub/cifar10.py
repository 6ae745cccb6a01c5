"""CIFAR-10, DABS's natural-images set (HF ``uoft-cs/cifar10``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..domains import DomainData, fit_count, make_task, register_domain, seeded_subset
from ..tokenizers import PatchEmbedding
from .sources import _load, hub_sources


@register_domain("cifar10", "Natural Images")
def cifar10(options: Mapping[str, Any], seed: int) -> DomainData:
    """CIFAR-10 (DABS's natural-images pretraining set), 4x4 patches of 32 px; evaluation on its test split."""
    hub = hub_sources(options)["cifar10"]
    loaded = {
        name: _load(hub, name, "cifar10") for name in ("train", "test")
    }  # the train split serves evaluation and pretraining

    def split(name: str, limit: Any, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds = loaded[name]
        idx = seeded_subset(len(ds), limit, s)
        ds = ds.select(idx)
        img_col = "img" if "img" in ds.column_names else "image"
        x = torch.stack(
            [
                torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0)
                for im in ds[img_col]
            ]
        )
        return x, torch.as_tensor(ds["label"])

    tr = split("train", options.get("eval_train_samples"), seed)
    te = split("test", options.get("eval_test_samples"), seed + 1)
    pre, _ = split("train", options.get("pretrain_samples"), seed + 2)
    return DomainData(
        fit_count(pre, options.get("pretrain_samples"), seed),
        (make_task("cifar10", tr, te, {}, seed),),
        lambda dim: PatchEmbedding(3, 32, 32, int(options.get("patch", 4)), dim),
    )
