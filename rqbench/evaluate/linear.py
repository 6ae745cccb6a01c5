"""Linear probe: a softmax classifier trained on frozen, standardized features."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rqbench.evaluate.accuracy import top1_accuracy
from rqbench.evaluate.checks import check_features, check_int, check_labels, check_positive, resolve_num_classes
from rqbench.evaluate.features import feature_stats


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`linear_probe`.

    Attributes:
        accuracy: top-1 test accuracy in percent.
        linear: the kept classifier, with the standardization folded in, so
            ``linear(raw_features).argmax(1)`` gives the probe's predictions.
        best_epoch: 1-based epoch whose weights were kept (the last epoch run when
            there is no validation split).
        epochs_run: epochs actually trained (fewer than asked after early stopping).
        val_accuracy: validation accuracy (percent) of the kept weights, ``None``
            without a validation split.
        val_history: validation accuracy after each epoch run (empty without a split).
    """

    accuracy: float
    linear: nn.Linear
    best_epoch: int
    epochs_run: int
    val_accuracy: float | None = None
    val_history: tuple[float, ...] = field(default_factory=tuple)


def linear_probe(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    *,
    num_classes: int | None = None,
    epochs: int = 100,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    seed: int = 0,
    val_fraction: float = 0.0,
    patience: int | None = None,
) -> ProbeResult:
    """Train an ``nn.Linear`` with cross-entropy on frozen features and report test accuracy.

    Protocol (BYOL-A's linear evaluation, Niizumi et al., IJCNN 2021): features are
    standardized with the statistics of the fitting split (:func:`standardize`); a
    zero-initialised linear layer is trained with Adam (``weight_decay`` as an L2 penalty)
    on shuffled mini-batches for ``epochs`` epochs. Adam rather than L-BFGS keeps memory
    bounded and makes ``epochs``/``patience`` meaningful. With ``val_fraction > 0`` a
    random ``val_fraction`` of the training set is held out; after every epoch the
    validation accuracy is measured and the best weights are kept (higher accuracy,
    ties broken by lower validation loss); with ``patience`` training stops once
    ``patience`` epochs pass without improvement. The kept weights are scored on the test
    set. Training runs on ``train_x.device``; all randomness (split, shuffling) follows a
    ``torch.Generator`` seeded with ``seed``.

    Args:
        train_x, train_y: training features ``(N, D)`` and integer labels ``(N,)``.
        test_x, test_y: test features ``(M, D)`` and labels ``(M,)``.
        num_classes: output size; by default ``max(label) + 1`` over train and test.
        epochs: maximum number of epochs.
        lr: Adam learning rate.
        weight_decay: L2 penalty (``torch.optim.Adam``'s ``weight_decay``).
        batch_size: mini-batch size.
        seed: seed of the validation split and of the shuffling.
        val_fraction: fraction of the training set held out for model selection, in ``[0, 1)``.
        patience: early-stopping patience in epochs (needs ``val_fraction > 0``); ``None``
            trains all ``epochs`` (still keeping the best-validation weights if there is a split).
    """
    train_x = check_features(train_x, "train_x")
    train_y = check_labels(train_y, "train_y", length=train_x.shape[0])
    test_x = check_features(test_x, "test_x")
    test_y = check_labels(test_y, "test_y", length=test_x.shape[0])
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"test_x has feature dim {test_x.shape[1]} but train_x has {train_x.shape[1]}")
    num_classes = resolve_num_classes(num_classes, train_y, test_y)
    epochs = check_int(epochs, "epochs", 1)
    lr = check_positive(lr, "lr")
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    batch_size = check_int(batch_size, "batch_size", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    val_fraction = check_positive(val_fraction, "val_fraction", allow_zero=True)
    if val_fraction >= 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    if patience is not None:
        patience = check_int(patience, "patience", 1)
        if val_fraction == 0.0:
            raise ValueError("patience (early stopping) needs a validation split: set val_fraction > 0")

    device = train_x.device
    generator = torch.Generator().manual_seed(seed)
    x = train_x.detach().float()
    y = train_y.to(device).long()
    val: tuple[Tensor, Tensor] | None = None
    if val_fraction > 0.0:
        n = x.shape[0]
        n_val = max(1, round(val_fraction * n))
        if n_val >= n:
            raise ValueError(f"val_fraction={val_fraction} leaves no training samples out of {n}")
        perm = torch.randperm(n, generator=generator).to(device)
        val = (x[perm[:n_val]], y[perm[:n_val]])
        x, y = x[perm[n_val:]], y[perm[n_val:]]
    mean, std = feature_stats(x)
    x = (x - mean) / std
    if val is not None:
        val = ((val[0] - mean) / std, val[1])

    linear = nn.utils.skip_init(nn.Linear, x.shape[1], num_classes, device=device)  # no global-RNG draw
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    optimizer = torch.optim.Adam(linear.parameters(), lr=lr, weight_decay=weight_decay)

    history: list[float] = []
    best_key: tuple[float, float] | None = None
    best_state: dict[str, Tensor] | None = None
    best_epoch, epochs_run, stale = epochs, 0, 0
    for epoch in range(1, epochs + 1):
        with torch.enable_grad():
            for idx in torch.randperm(x.shape[0], generator=generator).to(device).split(batch_size):
                loss = F.cross_entropy(linear(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        epochs_run = epoch
        if val is None:
            continue
        with torch.no_grad():
            logits = linear(val[0])
            key = (top1_accuracy(logits, val[1]), -F.cross_entropy(logits, val[1]).item())
        history.append(key[0])
        if best_key is None or key > best_key:
            best_key, best_epoch, stale = key, epoch, 0
            best_state = {name: t.detach().clone() for name, t in linear.state_dict().items()}
        else:
            stale += 1
            if patience is not None and stale >= patience:
                break
    if best_state is not None:
        linear.load_state_dict(best_state)
    else:
        best_epoch = epochs_run

    with torch.no_grad():
        accuracy = top1_accuracy(linear((test_x.detach().to(device).float() - mean) / std), test_y)
        folded = nn.utils.skip_init(nn.Linear, x.shape[1], num_classes, device=device)
        folded.weight.copy_(linear.weight / std)
        folded.bias.copy_(linear.bias - folded.weight @ mean)
    return ProbeResult(
        accuracy=accuracy,
        linear=folded,
        best_epoch=best_epoch,
        epochs_run=epochs_run,
        val_accuracy=None if best_key is None else best_key[0],
        val_history=tuple(history),
    )
