"""Score metrics: AUROC known answers (and scikit-learn agreement), top-1, errors."""

from __future__ import annotations

import pytest
import torch

from rqbench.evaluate.metrics import SCORE_METRICS, binary_auroc


def test_binary_auroc_known_answers() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    assert binary_auroc(torch.tensor([0.1, 0.2, 0.8, 0.9]), labels == 1) == 1.0
    assert binary_auroc(torch.tensor([0.9, 0.8, 0.2, 0.1]), labels == 1) == 0.0
    # positives {0.35, 0.8} vs negatives {0.1, 0.4}: pairs won 1 + 2 of 4
    assert binary_auroc(torch.tensor([0.1, 0.4, 0.35, 0.8]), labels == 1) == 0.75
    # a tie counts one half: all scores equal -> 0.5
    assert binary_auroc(torch.ones(4), labels == 1) == 0.5


def test_auroc_matches_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    gen = torch.Generator().manual_seed(0)
    y2 = torch.randint(0, 2, (200,), generator=gen)
    s2 = torch.randn(200, 2, generator=gen) + y2[:, None] * torch.tensor([0.0, 0.7])
    s2 = torch.round(s2 * 4) / 4  # ties
    p2 = torch.softmax(s2.double(), 1)[:, 1]
    assert SCORE_METRICS.get("auroc")(s2, y2) == pytest.approx(
        100 * sklearn_metrics.roc_auc_score(y2.numpy(), p2.numpy())
    )
    y4 = torch.randint(0, 4, (300,), generator=gen)
    s4 = torch.randn(300, 4, generator=gen) + torch.nn.functional.one_hot(y4, 4)
    p4 = torch.softmax(s4.double(), 1)
    expected = sklearn_metrics.roc_auc_score(y4.numpy(), p4.numpy(), multi_class="ovr", average="macro")
    assert SCORE_METRICS.get("auroc")(s4, y4) == pytest.approx(100 * expected)


def test_top1_is_accuracy_of_the_argmax() -> None:
    scores = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert SCORE_METRICS.get("top1")(scores, torch.tensor([0, 1, 1])) == pytest.approx(200 / 3)


def test_auroc_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="both classes"):
        binary_auroc(torch.tensor([0.1, 0.2]), torch.tensor([True, True]))
    with pytest.raises(ValueError, match="num_classes >= 2"):
        SCORE_METRICS.get("auroc")(torch.randn(4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(KeyError, match="score metric"):
        SCORE_METRICS.get("f1")
