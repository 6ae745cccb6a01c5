"""evaluate_encoder: each task's metric scores its linear probe; kNN stays top-1."""

from __future__ import annotations

import pytest
import torch
from blobs_modality import Blobs, make_blobs
from torch import nn
from torch.utils.data import TensorDataset

from rqbench.evaluate.protocol import evaluate_encoder
from rqbench.modality import Task


class BinaryBlobs(Blobs):
    """Blobs with a two-class task scored by ``metric``."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def tasks(self, preset):
        (xa, ya), (xb, yb) = make_blobs(256, seed=0), make_blobs(128, seed=1)
        return [Task("binary", TensorDataset(xa, ya % 2), TensorDataset(xb, yb % 2), 2, metric=self.metric)]


def test_auroc_task_gets_an_auroc_linear_row_and_top1_knn() -> None:
    modality = BinaryBlobs("auroc")
    preset = modality.presets["quick"]
    encoder = nn.Flatten()  # identity features: the clusters are linearly separable
    rows = evaluate_encoder(encoder, 32, modality, preset, seed=0, device=torch.device("cpu"))
    linear = [r for r in rows if r["protocol"] == "linear"]
    knn = [r for r in rows if r["protocol"] == "knn"]
    assert {r["metric"] for r in linear} == {"auroc"} and {r["metric"] for r in knn} == {"top1"}
    assert all(90.0 < r["value"] <= 100.0 for r in linear)


def test_unknown_task_metric_is_refused() -> None:
    modality = BinaryBlobs("f1")
    with pytest.raises(KeyError, match="score metric"):
        evaluate_encoder(nn.Flatten(), 32, modality, modality.presets["quick"], seed=0, device=torch.device("cpu"))
