"""MoCo-v3's linear classification (facebookresearch/moco-v3 ``main_lincls.py``): a linear head
trained by SGD on the frozen network, on random training views, scored on the test views.

The recipe, with the reference's lines:

* the network is frozen and stays in eval mode while the head trains (L164-L166 freeze every
  parameter but the head's; L348 ``model.eval()`` in ``train``, so BatchNorm statistics never change);
* the head is ``nn.Linear(feature_dim, classes)`` with weight ~ N(0, 0.01) and bias 0 (L168-L169);
* SGD with momentum 0.9 (L60), weight decay 0 (L62), learning rate ``lr * batch / 256`` (L196,
  L236) with base lr 0.1 (L58) and batch 1024 (L53);
* 90 epochs (L49), the rate set at the start of each epoch to ``init_lr * 0.5 * (1 + cos(pi *
  epoch / epochs))`` (L501, no warm-up);
* training views RandomResizedCrop(224) + RandomHorizontalFlip (L273-L274), the training set
  reshuffled every epoch (L283-L285, ``shuffle=True``; the last short batch kept); test views
  Resize(256) + CenterCrop(224) (L290-L291); top-1 of the last epoch's head (the reference's
  ``best_acc1`` picks the best epoch on the validation set itself, which is not done here).

The views come from the task (:attr:`rqbench.modality.Task.train_views`, the modality's random
training views; :attr:`~rqbench.modality.Task.test` through :func:`eval_batches`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from rqbench.drawn import LINCLS_STREAM, keyed_generator
from rqbench.evaluate.batches import eval_batches
from rqbench.modality import Modality, Task
from rqbench.preset import Preset
from rqbench.train.batches import usable_cores

__all__ = ["LinclsResult", "cosine_epoch_lr", "lincls", "lincls_task"]


def cosine_epoch_lr(init_lr: float, epoch: int, epochs: int) -> float:
    """The rate of ``epoch`` (0-based): ``init_lr * 0.5 * (1 + cos(pi * epoch / epochs))`` (main_lincls.py L501)."""
    return init_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def _epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[tuple[int, int, int, int]]]:
    """Epoch ``epoch``'s shuffled batches of :class:`~rqbench.drawn.Drawn` keys ``(seed, stream, epoch, i)``
    (the last batch may be short: the reference's loader keeps it)."""
    order = torch.randperm(n, generator=keyed_generator(seed, LINCLS_STREAM, epoch, -1)).tolist()
    keys = [(seed, LINCLS_STREAM, epoch, i) for i in order]
    return [keys[start : start + batch_size] for start in range(0, n, batch_size)]


@dataclass
class LinclsResult:
    """The trained head, its test top-1 (%) and the training loss of each epoch."""

    head: nn.Linear
    accuracy: float
    losses: list[float]


def lincls(
    encoder: nn.Module,
    feature_dim: int,
    num_classes: int,
    train_views: Dataset[Any],
    test_batches: Any,
    *,
    epochs: int = 90,
    lr: float = 0.1,
    batch_size: int = 1024,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device = torch.device("cpu"),
    num_workers: int = 0,
) -> LinclsResult:
    """Train a linear head on ``encoder`` (frozen, eval mode) with MoCo-v3's recipe; its test top-1.

    Args:
        encoder: maps a batch of views to ``(B, feature_dim)``; never changed (its parameters
            get no gradient and its BatchNorm layers stay in eval mode; its mode is restored).
        train_views: a :class:`~rqbench.drawn.Drawn` set of ``(view, label)`` keyed ``(seed, stream, epoch, i)``.
        test_batches: an iterable (re-iterable) of ``(views, labels)`` test batches.
        epochs, lr, batch_size, momentum, weight_decay: the recipe (``lr`` is the base rate,
            scaled by ``batch_size / 256``).
        seed: seeds the head's initialization, the epoch orders and the views' draws.
        num_workers: DataLoader workers for the training views.
    """
    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(feature_dim, num_classes)
    with torch.no_grad():
        head.weight.normal_(0.0, 0.01, generator=generator)
        head.bias.zero_()
    head = head.to(device)
    init_lr = lr * batch_size / 256
    optimizer = torch.optim.SGD(head.parameters(), lr=init_lr, momentum=momentum, weight_decay=weight_decay)
    was_training = encoder.training
    encoder.eval()
    n = len(train_views)  # type: ignore[arg-type]
    losses = []
    try:
        for epoch in range(epochs):
            for group in optimizer.param_groups:
                group["lr"] = cosine_epoch_lr(init_lr, epoch, epochs)
            loader = DataLoader(
                train_views,
                batch_sampler=_epoch_batches(n, batch_size, seed, epoch),
                num_workers=min(num_workers, usable_cores()),
                pin_memory=device.type == "cuda",
            )
            total, count = 0.0, 0
            for x, y in loader:
                with torch.no_grad():
                    features = encoder(x.to(device, non_blocking=True))
                loss = F.cross_entropy(head(features.float()), y.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, count = total + float(loss.detach()) * len(y), count + len(y)
            losses.append(total / max(count, 1))
        correct, seen = 0, 0
        with torch.no_grad():
            for x, y in test_batches:
                predicted = head(encoder(x.to(device)).float()).argmax(1).cpu()
                correct, seen = correct + int((predicted == y).sum()), seen + len(y)
    finally:
        encoder.train(was_training)
    return LinclsResult(head.cpu(), 100.0 * correct / max(seen, 1), losses)


def lincls_task(
    encoder: nn.Module,
    feature_dim: int,
    modality: Modality,
    task: Task,
    preset: Preset,
    seed: int,
    device: torch.device,
) -> float:
    """The ``lincls`` protocol on one task with the preset's settings: top-1 (%) on the task's test set."""
    if task.train_views is None:
        raise ValueError(
            f"protocol 'lincls' needs random training views, and task {task.name!r} of modality "
            f"{modality.name!r} has none (Task.train_views); use the 'linear' protocol for it"
        )
    settings = preset.eval
    result = lincls(
        encoder,
        feature_dim,
        task.num_classes,
        task.train_views,
        _Batches(task.test, modality, preset),
        epochs=settings.lincls_epochs,
        lr=settings.lincls_lr,
        batch_size=settings.lincls_batch_size,
        momentum=settings.lincls_momentum,
        weight_decay=settings.lincls_weight_decay,
        seed=seed,
        device=device,
        num_workers=preset.num_workers,
    )
    return result.accuracy


class _Batches:
    """The test set's evaluation batches, re-iterable."""

    def __init__(self, dataset: Dataset[Any], modality: Modality, preset: Preset) -> None:
        self.dataset, self.modality, self.preset = dataset, modality, preset

    def __iter__(self) -> Any:
        for x, y, *_ in eval_batches(self.dataset, self.modality, self.preset):
            yield x, y
