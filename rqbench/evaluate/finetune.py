"""End-to-end classification fine-tuning of a pretrained encoder with a head."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rqbench.evaluate.accuracy import top1_accuracy
from rqbench.evaluate.checks import check_int, check_labels, check_positive
from rqbench.schedules import cosine_lr as cosine_lr  # re-exported by rqbench.evaluate

B = TypeVar("B")


def train_epochs(
    optimizer: torch.optim.Optimizer,
    batches_fn: Callable[[int], Iterable[B]],
    loss_fn: Callable[[B, int], Tensor | None],
    *,
    epochs: int,
    lr: float,
    what: str | None = None,
) -> None:
    """The evaluation protocols' training loop: ``epochs`` epochs under :func:`cosine_lr`.

    At the start of each 0-based epoch every parameter group's learning rate is set to
    ``cosine_lr(lr, epoch, epochs)``; then, for every batch of ``batches_fn(epoch)``, one
    optimizer step on ``loss_fn(batch, epoch)`` (``None`` skips the batch). With ``what``, an epoch
    that took no step raises ``ValueError("batches_fn(epoch) yielded no <what>")``. The caller
    owns the model's mode and the RNG.
    """
    with torch.enable_grad():
        for epoch in range(epochs):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(lr, epoch, epochs)
            steps = 0
            for batch in batches_fn(epoch):
                loss = loss_fn(batch, epoch)
                if loss is None:
                    continue
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                steps += 1
            if what is not None and steps == 0:
                raise ValueError(f"train_batches_fn({epoch}) yielded no {what}")


def finetune(
    encoder: nn.Module,
    head: nn.Module,
    train_batches_fn: Callable[[int], Iterable[tuple[Tensor, Tensor]]],
    eval_batches: Iterable[tuple[Tensor, Tensor]],
    *,
    epochs: int,
    lr: float,
    weight_decay: float = 0.05,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> float:
    """Fine-tune ``head(encoder(x))`` end to end with cross-entropy; return test accuracy (percent).

    Both modules are deep-copied first, so the caller's pretrained encoder (and head)
    are never modified. Optimisation: AdamW (Loshchilov & Hutter, ICLR 2019) on all
    parameters, learning rate annealed per epoch with :func:`cosine_lr`. Stochastic layers
    (dropout, ...) draw from torch's global RNG seeded with ``seed`` inside
    ``torch.random.fork_rng``, so the caller's RNG state is left untouched; data order is
    whatever ``train_batches_fn`` yields.

    Args:
        encoder: pretrained backbone, ``x -> features``.
        head: classifier, ``features -> logits (B, C)``.
        train_batches_fn: ``epoch -> iterable of (x, y)`` for 0-based ``epoch``.
        eval_batches: ``(x, y)`` pairs of the test set.
        epochs: number of epochs (>= 1).
        lr: peak AdamW learning rate.
        weight_decay: AdamW decoupled weight decay.
        device: where training runs.
        seed: seed of the global RNG during training.
    """
    for name, module in (("encoder", encoder), ("head", head)):
        if not isinstance(module, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
    if not callable(train_batches_fn):
        raise TypeError(f"train_batches_fn must be callable epoch -> batches, got {type(train_batches_fn).__name__}")
    epochs = check_int(epochs, "epochs", 1)
    lr = check_positive(lr, "lr")
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    device = torch.device(device)

    model = nn.Sequential(copy.deepcopy(encoder), copy.deepcopy(head)).to(device)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("encoder and head have no trainable parameters")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    # torch.manual_seed also seeds every CUDA device, so fork all of them when on CUDA.
    rng_devices = list(range(torch.cuda.device_count())) if device.type == "cuda" else []

    def loss(batch: tuple[Tensor, Tensor], epoch: int) -> Tensor:
        logits, y = _forward(model, *batch, device, f"training batch of epoch {epoch}")
        return F.cross_entropy(logits, y)

    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(seed)
        model.train()
        train_epochs(optimizer, train_batches_fn, loss, epochs=epochs, lr=lr, what="batches")

    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for x, y in eval_batches:
            logits, y = _forward(model, x, y, device, "evaluation batch")
            preds.append(logits.argmax(dim=1).cpu())
            labels.append(y.cpu())
    if not preds:
        raise ValueError("eval_batches is empty: nothing to evaluate")
    return top1_accuracy(torch.cat(preds), torch.cat(labels))


def _forward(model: nn.Module, x: Tensor, y: Tensor, device: torch.device, what: str) -> tuple[Tensor, Tensor]:
    """Logits ``(B, C)`` of ``x`` and labels ``y`` on ``device``, with shape checks."""
    logits = model(x.to(device))
    if not isinstance(logits, Tensor) or logits.ndim != 2:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"head must return logits (batch, num_classes) for the {what}, got {shape}")
    y = check_labels(torch.as_tensor(y), f"labels of the {what}", length=logits.shape[0]).to(device).long()
    if int(y.max()) >= logits.shape[1]:
        raise ValueError(
            f"labels of the {what} contain class {int(y.max())} but the head outputs {logits.shape[1]} classes"
        )
    return logits, y
