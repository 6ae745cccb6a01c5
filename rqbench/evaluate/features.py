"""Frozen-feature extraction and train-statistics standardization for the probes."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from rqbench.evaluate.checks import check_features, check_labels

STD_FLOOR = 1e-6
"""Smallest standard deviation :func:`standardize` divides by (constant features stay finite)."""


def extract_features(
    encoder: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]:
    """Run a frozen ``encoder`` over ``batches`` and return all features and labels.

    The encoder runs in eval mode under ``torch.no_grad``; the train/eval mode of every
    submodule is restored afterwards (also on error). Outputs with more than two axes
    (e.g. ``(B, C, 1, 1)`` after global pooling) are flattened to ``(B, D)``.

    Args:
        encoder: maps an input batch ``x`` to features ``(B, ...)``.
        batches: ``(x, y)`` pairs; ``y`` holds ``B`` integer labels.
        device: where the encoder and the inputs run.

    Returns:
        ``(features, labels)``: float32 ``(N, D)`` and int64 ``(N,)``, both on CPU.
    """
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    device = torch.device(device)
    modes = {module: module.training for module in encoder.modules()}
    feats: list[Tensor] = []
    labels: list[Tensor] = []
    try:
        encoder.eval()
        with torch.no_grad():
            for i, batch in enumerate(batches):
                if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                    raise TypeError(f"batch {i} must be an (inputs, labels) pair, got {type(batch).__name__}")
                x, y = batch
                out = encoder(x.to(device) if isinstance(x, Tensor) else x)
                if not isinstance(out, Tensor):
                    raise TypeError(f"encoder output for batch {i} must be a Tensor, got {type(out).__name__}")
                if out.ndim < 2:
                    raise ValueError(
                        f"encoder output for batch {i} must be (batch, ...) with >= 2 axes, "
                        f"got shape {tuple(out.shape)}"
                    )
                out = out.flatten(1).float().cpu()
                y = check_labels(torch.as_tensor(y), f"labels of batch {i}", length=out.shape[0])
                feats.append(out)
                labels.append(y.long().cpu())
    finally:
        for module, training in modes.items():
            module.train(training)
    if not feats:
        raise ValueError("batches is empty: no features were extracted")
    features = check_features(torch.cat(feats), "extracted features")
    return features, torch.cat(labels)


def standardize(train: Tensor, *others: Tensor) -> tuple[Tensor, ...]:
    """Z-score every feature with the mean and (population) std of ``train`` only.

    ``x' = (x - mean_train) / max(std_train, 1e-6)``; the same statistics are applied to
    each tensor in ``others`` (validation/test features), as scikit-learn's
    ``StandardScaler`` fitted on the training set, used by BYOL-A's linear evaluation
    (Niizumi et al., 2021).

    Returns:
        ``(train', *others')`` in the input order.
    """
    train = check_features(train, "train features")
    for i, other in enumerate(others):
        check_features(other, f"features #{i + 1} to standardize")
        if other.shape[1] != train.shape[1]:
            raise ValueError(
                f"features #{i + 1} have dim {other.shape[1]} but the train features have dim {train.shape[1]}"
            )
    mean, std = feature_stats(train)
    return tuple((x - mean.to(x)) / std.to(x) for x in (train, *others))


def feature_stats(train: Tensor) -> tuple[Tensor, Tensor]:
    """Per-feature mean and population std of ``train`` ``(N, D)``, the std clamped at ``1e-6``."""
    train = check_features(train, "train features")
    mean = train.mean(dim=0)
    std = train.std(dim=0, correction=0).clamp_min(STD_FLOOR)
    return mean, std
