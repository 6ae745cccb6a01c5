"""``AugmentationPipeline.views``: the stages in the modality's order, each over all views, then mixing."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from rqbench.augment import AUGMENTATIONS, register_augmentation
from rqbench.augment.base import Augmentation, Stage
from rqbench.augment.spec import DEFAULT_STAGE_ORDER, applied_order, build_pipeline
from rqbench.augment.views import Views

CALLS: list[str] = []


class _Recorder(Augmentation):
    """Adds a constant and records the call (tests only)."""

    label = ""

    def forward(self, x: Tensor, index: int = 0) -> Tensor:
        CALLS.append(f"{self.label}{index}" if self.stage is Stage.VIEW else self.label)
        return x + (1.0 if self.stage is Stage.VIEW else 10.0)


if "rec-view" not in AUGMENTATIONS:

    @register_augmentation("rec-view")
    class RecView(_Recorder):
        """Records a view-stage call (tests only)."""

        stage = Stage.VIEW
        label = "view"

    @register_augmentation("rec-channel")
    class RecChannel(_Recorder):
        """Records a channel-stage call (tests only)."""

        stage = Stage.CHANNEL
        label = "channel"

        def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
            return super().forward(x)


def test_views_of_clean_views_and_validation() -> None:
    x, y = torch.zeros(2, 3), torch.ones(2, 3)
    views = Views.of(x, y, indices=torch.arange(2))
    assert len(views) == 2 and views.queries == views.keys == (x, y) and views.mix == (None, None)
    with pytest.raises(ValueError, match="as many queries"):
        Views((x,), (x, y), (None,))
    with pytest.raises(ValueError, match="at least one"):
        Views((), (), ())


@pytest.mark.parametrize(
    ("order", "calls"),
    [
        (DEFAULT_STAGE_ORDER, ["view0", "view1", "view2", "channel", "channel", "channel"]),
        ((Stage.CHANNEL, Stage.VIEW), ["channel", "channel", "channel", "view0", "view1", "view2"]),
    ],
)
def test_stages_run_in_the_given_order_each_over_every_view(order: tuple[Stage, ...], calls: list[str]) -> None:
    CALLS.clear()
    pipeline = build_pipeline("rec-view+rec-channel", order=order)
    embedded: list[Tensor] = []
    views = pipeline.views(torch.zeros(4, 2), 3, torch.arange(4), embed=lambda x: embedded.append(x) or x * 2)
    assert CALLS == calls and len(views) == 3 and views.mix == (None, None, None)
    # the embedding runs where the channel stage begins: after the views, or on the raw batch
    expected = (0.0 + 1.0) * 2 + 10.0 if order == DEFAULT_STAGE_ORDER else 0.0 * 2 + 10.0 + 1.0
    assert all(float(v[0, 0]) == expected for v in views.queries) and len(embedded) == 3
    assert torch.equal(views.indices, torch.arange(4)) and views.queries[0] is views.keys[0]


def test_mixing_comes_last_on_every_view_and_keys_stay_clean() -> None:
    pipeline = build_pipeline("rq(bins=4)+imix", generator=torch.Generator().manual_seed(0))
    views = pipeline.views(torch.randn(8, 3, 5), 2)
    assert all(m is not None for m in views.mix)
    assert all(not torch.equal(q, k) for q, k in zip(views.queries, views.keys))


def test_applied_order_sees_only_stages_the_spec_uses() -> None:
    reverse = (Stage.CHANNEL, Stage.VIEW)
    assert applied_order("rec-view+rec-channel", reverse) == reverse
    assert applied_order("rec-view", reverse) == applied_order("rec-view", DEFAULT_STAGE_ORDER) == (Stage.VIEW,)
    assert applied_order("none", reverse) == ()


def test_a_stage_order_must_name_view_and_channel_once() -> None:
    with pytest.raises(ValueError, match="view and channel stages once each"):
        build_pipeline("none", order=(Stage.VIEW, Stage.VIEW))
