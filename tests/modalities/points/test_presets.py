"""The points quick preset's evaluation settings (chosen in its docstring's trial runs)."""

from modalities.points.presets import PAPER, QUICK


def test_quick_scores_every_labelled_shape_and_averages_label_draws() -> None:
    assert (QUICK.eval.cv_folds, QUICK.eval.cv_repeats, QUICK.eval.label_draws) == (5, 2, 5)
    assert (QUICK.epochs, QUICK.milestones) == (20, (12, 16))  # the pretraining the trials ran
    assert PAPER.eval.cv_folds is None  # the paper scores ModelNet40's own test split
