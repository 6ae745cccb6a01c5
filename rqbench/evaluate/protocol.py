"""Evaluate an encoder on every task of a modality with the preset's protocols."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, Subset

from rqbench.distributed import DistEnv, gather_objects
from rqbench.evaluate.batches import eval_batches
from rqbench.evaluate.features import extract_features
from rqbench.evaluate.finetune import finetune
from rqbench.evaluate.fractions import label_fraction_indices
from rqbench.evaluate.knn import knn_accuracy
from rqbench.evaluate.lincls import lincls_task
from rqbench.evaluate.linear import linear_probe
from rqbench.evaluate.metrics import SCORE_METRICS
from rqbench.evaluate.seg_protocol import evaluate_segmentation
from rqbench.evaluate.splits import draw_seed, repeated_stratified_kfold
from rqbench.modality import Modality, Task
from rqbench.preset import PROTOCOLS as PROTOCOLS  # re-exported for the table specs
from rqbench.preset import Preset


def _labels(dataset: Dataset[Any]) -> Tensor:
    return torch.as_tensor([int(dataset[i][1]) for i in range(len(dataset))])  # type: ignore[arg-type]


def evaluate_encoder(
    encoder: nn.Module,
    feature_dim: int,
    modality: Modality,
    preset: Preset,
    seed: int,
    device: torch.device,
    report: Callable[[str], None] | None = None,
    env: DistEnv = DistEnv(),
) -> list[dict[str, Any]]:
    """Rows ``{dataset, protocol, label_fraction, metric, value}`` for every task and protocol.

    Linear probe: frozen, standardized features, one probe per label fraction (seeded,
    stratified subset of the training labels; below 1, the mean over ``eval.label_draws`` subsets),
    scored with the task's ``metric`` (:data:`~rqbench.evaluate.metrics.SCORE_METRICS`: ``top1``,
    ``auroc``). kNN: all training labels. With ``eval.cv_folds`` both frozen-feature protocols
    average over a repeated stratified k-fold of the pooled labelled samples instead of the task's
    own split (:func:`feature_splits`). Fine-tune: a linear head on the encoder, trained end to end,
    per label fraction (one subset draw, the task's own split). kNN and fine-tuning report top-1
    accuracy whatever the task's metric.
    """
    settings = preset.eval
    unknown = sorted(set(settings.protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown evaluation protocol(s) {', '.join(unknown)}; known: {', '.join(PROTOCOLS)}")
    rows: list[dict[str, Any]] = []
    tasks = modality.tasks(preset)
    for number, task in enumerate(tasks, 1):
        if report is not None:  # progress: which task, how far, which protocols
            wanted = [p for p in settings.protocols if p.endswith("_seg") == (task.kind == "segmentation")]
            report(f"evaluate task {number}/{len(tasks)} {task.name} ({task.kind}): {', '.join(wanted)}")
        started = time.perf_counter()
        if task.kind == "segmentation":  # linear_seg / finetune_seg on per-point features
            if env.is_main:  # segmentation probes run on rank 0 alone (no collective inside)
                rows += evaluate_segmentation(encoder, modality, task, preset, seed, device)
        else:
            rows += _evaluate_task(encoder, feature_dim, modality, task, preset, seed, device, env)
        if report is not None:
            report(f"evaluate task {number}/{len(tasks)} {task.name}: done in {time.perf_counter() - started:.0f} s")
    return rows


def sharded_features(
    encoder: nn.Module, dataset: Dataset[Any], modality: Modality, preset: Preset, device: torch.device, env: DistEnv
) -> tuple[Tensor, Tensor]:
    """Frozen features of ``dataset`` with the extraction split over the processes: rank ``r`` encodes
    samples ``r, r + W, ...``, and every rank gets all of them back in dataset order (one process:
    :func:`~rqbench.evaluate.features.extract_features` over the whole set)."""
    if not env.distributed:
        return extract_features(encoder, eval_batches(dataset, modality, preset), device)
    n = len(dataset)  # type: ignore[arg-type]
    mine = list(range(env.rank, n, env.world_size))
    part = extract_features(encoder, eval_batches(Subset(dataset, mine), modality, preset), device) if mine else None
    parts = gather_objects(env, part)
    dim = next(p[0].shape[1] for p in parts if p is not None)
    features, labels = torch.empty(n, dim), torch.empty(n, dtype=torch.int64)
    for rank, shard in enumerate(parts):
        if shard is not None:
            features[rank :: env.world_size], labels[rank :: env.world_size] = shard
    return features, labels


Split = tuple[Tensor, Tensor, Tensor, Tensor]
"""Features and labels a probe fits on, then features and labels it is scored on."""


def feature_splits(
    train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, folds: int | None, repeats: int, seed: int
) -> list[Split]:
    """What the frozen-feature probes fit and score on: the task's own split (``folds`` ``None``), or
    every fold of a repeated stratified ``folds``-fold over both splits' samples pooled
    (:func:`~rqbench.evaluate.splits.repeated_stratified_kfold`, seeded by the run's ``seed``)."""
    if folds is None:
        return [(train_x, train_y, test_x, test_y)]
    x, y = torch.cat([train_x, test_x]), torch.cat([train_y, test_y])
    return [(x[fit], y[fit], x[held], y[held]) for fit, held in repeated_stratified_kfold(y, folds, repeats, seed)]


def _evaluate_task(
    encoder: nn.Module,
    feature_dim: int,
    modality: Modality,
    task: Task,
    preset: Preset,
    seed: int,
    device: torch.device,
    env: DistEnv = DistEnv(),
) -> list[dict[str, Any]]:
    settings = preset.eval
    if len(task.train) == 0 or len(task.test) == 0:  # type: ignore[arg-type]
        raise ValueError(f"task {task.name!r} has an empty train or test set")
    rows: list[dict[str, Any]] = []
    score_metric = SCORE_METRICS.get(task.metric)  # an unknown metric fails before any work

    def row(protocol: str, fraction: float, value: float, metric: str = "top1") -> None:
        rows.append(
            {"dataset": task.name, "protocol": protocol, "label_fraction": fraction, "metric": metric, "value": value}
        )

    needs_features = {"linear", "knn"} & set(settings.protocols)
    if needs_features:
        train_x, train_y = sharded_features(encoder, task.train, modality, preset, device, env)
        test_x, test_y = sharded_features(encoder, task.test, modality, preset, device, env)
    if not env.is_main:  # every rank extracted its share of the features; the probes run on rank 0
        return rows
    if needs_features:
        splits = feature_splits(train_x, train_y, test_x, test_y, settings.cv_folds, settings.cv_repeats, seed)
    if "linear" in settings.protocols:
        for fraction in settings.label_fractions:
            draws = 1 if fraction == 1.0 else settings.label_draws
            scores = []
            for fit_x, fit_y, score_x, score_y in splits:
                for draw in range(draws):
                    idx = label_fraction_indices(fit_y, fraction, draw_seed(seed, draw))
                    result = linear_probe(
                        fit_x[idx],
                        fit_y[idx],
                        score_x,
                        score_y,
                        num_classes=task.num_classes,
                        epochs=settings.linear_epochs,
                        lr=settings.linear_lr,
                        weight_decay=settings.linear_weight_decay,
                        batch_size=settings.batch_size,
                        seed=seed,
                        val_fraction=settings.val_fraction,
                        patience=settings.patience,
                    )
                    if task.metric == "top1":
                        scores.append(result.accuracy)
                    else:  # the task's own metric of the kept probe's scores on the test set
                        with torch.no_grad():
                            logits = result.linear(score_x.to(result.linear.weight.device))
                        scores.append(score_metric(logits, score_y))
            row("linear", fraction, sum(scores) / len(scores), task.metric)
    if "knn" in settings.protocols:
        accuracies = [
            knn_accuracy(fit_x, fit_y, score_x, score_y, k=settings.knn_k, temperature=settings.knn_temperature)
            for fit_x, fit_y, score_x, score_y in splits
        ]
        row("knn", 1.0, sum(accuracies) / len(accuracies))
    if "lincls" in settings.protocols:  # MoCo-v3's main_lincls recipe on the frozen encoder (evaluate/lincls.py),
        # reported as the linear evaluation: the preset says which recipe its "linear" rows come from
        row("linear", 1.0, lincls_task(encoder, feature_dim, modality, task, preset, seed, device))
    if "finetune" in settings.protocols:
        labels = _labels(task.train)
        for fraction in settings.label_fractions:
            subset = Subset(task.train, label_fraction_indices(labels, fraction, seed).tolist())

            def train_batches(epoch: int, s: Dataset[Any] = subset) -> Iterator[tuple[Any, ...]]:
                return eval_batches(s, modality, preset, shuffle=True, seed=seed * 1000 + epoch)

            accuracy = finetune(
                encoder,
                nn.Linear(feature_dim, task.num_classes),
                train_batches,
                list(eval_batches(task.test, modality, preset)),
                epochs=settings.finetune_epochs,
                lr=settings.finetune_lr,
                weight_decay=settings.finetune_weight_decay,
                device=device,
                seed=seed,
            )
            row("finetune", fraction, accuracy)
    return rows
