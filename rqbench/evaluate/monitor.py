"""The kNN monitor during pretraining: how well the current encoder separates a task's classes."""

from __future__ import annotations

import torch
from torch import nn

from rqbench.evaluate.batches import eval_batches
from rqbench.evaluate.features import extract_features
from rqbench.evaluate.knn import knn_accuracy
from rqbench.modality import Modality
from rqbench.preset import Preset


def knn_monitor(encoder: nn.Module, modality: Modality, preset: Preset, device: torch.device) -> float | None:
    """kNN top-1 (the preset's k and temperature) of ``encoder`` on the first classification task, or
    ``None`` when the modality has none. The encoder's training mode and every global RNG are restored."""
    task = next((t for t in modality.tasks(preset) if t.kind == "classification"), None)
    if task is None:
        return None
    was_training = encoder.training
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        train_x, train_y = extract_features(encoder, eval_batches(task.train, modality, preset), device)
        test_x, test_y = extract_features(encoder, eval_batches(task.test, modality, preset), device)
    encoder.train(was_training)
    settings = preset.eval
    return knn_accuracy(
        train_x, train_y, test_x, test_y, k=min(settings.knn_k, len(train_y)), temperature=settings.knn_temperature
    )


__all__ = ["knn_monitor"]
