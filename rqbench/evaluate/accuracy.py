"""Top-1 classification accuracy, in percent."""

from __future__ import annotations

from torch import Tensor

from rqbench.evaluate.checks import check_labels


def top1_accuracy(predictions: Tensor, targets: Tensor) -> float:
    """Percentage of samples whose prediction equals the target.

    Args:
        predictions: predicted class indices ``(N,)`` (integer), or scores/logits
            ``(N, C)`` (floating point), in which case the arg-max is the prediction.
        targets: true class indices ``(N,)``.

    Returns:
        ``100 * mean(prediction == target)``.
    """
    if isinstance(predictions, Tensor) and predictions.is_floating_point():
        if predictions.ndim != 2:
            raise ValueError(
                f"score predictions must be 2-D (num_samples, num_classes), got shape {tuple(predictions.shape)}"
            )
        predictions = predictions.argmax(dim=1)
    predictions = check_labels(predictions, "predictions")
    targets = check_labels(targets, "targets", length=predictions.shape[0])
    return 100.0 * (predictions.to(targets.device) == targets).double().mean().item()
