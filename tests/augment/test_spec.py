"""Spec strings: parsing, canonical form, validation messages, building pipelines."""

from __future__ import annotations

import pytest
import torch

from rqbench.augment import (
    AUGMENTATIONS,
    DACL,
    Augmentation,
    AugTerm,
    ChannelLayout,
    IMix,
    OnChannels,
    RandomizedQuantization,
    SpecError,
    Stage,
    build_pipeline,
    parse_spec,
    register_augmentation,
    validate_spec,
)


def test_parse_forms() -> None:
    assert parse_spec("rq").terms == (AugTerm("rq"),)
    assert parse_spec("rq(bins=5)").terms == (AugTerm("rq", (("bins", 5),)),)
    spec = parse_spec(" rrc + rq(p=0.5, bins=8) ")
    assert spec.terms == (AugTerm("rrc"), AugTerm("rq", (("bins", 8), ("p", 0.5))))
    assert str(spec) == "rrc+rq(bins=8,p=0.5)"  # canonical: sorted arguments, no spaces
    assert str(parse_spec("dacl(alpha=0.5)")) == "dacl(alpha=0.5)"
    assert parse_spec("rq(spacing=uniform,values='midpoint')").terms[0].kwargs == (
        ("spacing", "uniform"),
        ("values", "midpoint"),
    )
    assert parse_spec("x(scale=(0.08, 1.0), flag=true, shift=-2)").terms[0].kwargs == (
        ("flag", True),
        ("scale", (0.08, 1.0)),
        ("shift", -2),
    )
    assert len(parse_spec("none")) == 0 and len(parse_spec("")) == 0 and str(parse_spec("none")) == "none"


def test_canonical_form_round_trips() -> None:
    for text in [
        "rq(bins=8,p=0.5)",
        "rrc+rq(bins=8,spacing=uniform,values=midpoint)",
        "dacl(alpha=0.5)+imix(alpha=1.0)",
    ]:
        assert str(parse_spec(str(parse_spec(text)))) == str(parse_spec(text))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rq(bins=8", "unbalanced '\\('"),
        ("rq)bins=8(", "unbalanced '\\)'"),
        ("rq++dacl", "empty term"),
        ("rq(8)", "arguments must be named"),
        ("rq(bins=8, bins=5)", "given twice"),
        ("rq(bins=[x for x in y])", "values must be numbers"),
        ("r q", "bad augmentation name"),
        ("none+rq", "'none' cannot be combined"),
        ("rq(bins=8))", "unbalanced"),
    ],
)
def test_syntax_errors(text, match) -> None:
    with pytest.raises(SpecError, match=match):
        parse_spec(text)


def test_unknown_name_lists_what_exists() -> None:
    with pytest.raises(SpecError) as info:
        validate_spec("rqq(bins=8)")
    message = str(info.value)
    assert "unknown augmentation 'rqq'" in message and "Did you mean 'rq'" in message
    for name in ("rq", "dacl", "mixup", "imix", "emix", "byola-mixup"):
        assert name in message


def test_bad_argument_lists_accepted_ones() -> None:
    with pytest.raises(SpecError, match="has no argument 'bin'; it accepts: bins, spacing, values, p, channel_dim"):
        validate_spec("rq(bin=8)")
    with pytest.raises(SpecError, match="bins must be >= 1"):
        build_pipeline("rq(bins=0)")
    with pytest.raises(SpecError, match="unknown spacing 'log'"):
        build_pipeline("rq(spacing=log)")


def test_stage_order_and_single_mixing() -> None:
    with pytest.raises(SpecError, match="must come before"):
        validate_spec("imix+rq")
    with pytest.raises(SpecError, match="more than one mixing"):
        validate_spec("imix+emix")


def test_build_pipeline_injects_layout_and_generator() -> None:
    gen = torch.Generator().manual_seed(0)
    pipeline = build_pipeline("rq(bins=5)+dacl+imix", layout=ChannelLayout(channel_dim=-1, batch_dims=1), generator=gen)
    rq, dacl = pipeline.channel
    assert isinstance(rq, RandomizedQuantization) and rq.channel_dim == -1 and rq.bins == 5 and rq.generator is gen
    assert isinstance(dacl, DACL) and dacl.generator is gen
    assert isinstance(pipeline.mixing, IMix)
    x = torch.randn(4, 10, 3)
    y = pipeline(x)
    mixed, info = pipeline.mix(y)
    assert mixed.shape == x.shape and info is not None and info.partner.shape == (4,)


def test_empty_pipeline_is_identity() -> None:
    pipeline = build_pipeline("none")
    x = torch.randn(3, 3, 4, 4)
    out, info = pipeline.mix(pipeline(x))
    assert torch.equal(out, x) and info is None


def test_a_new_augmentation_is_one_registered_class() -> None:
    name = "test-negate"

    @register_augmentation(name)
    class Negate(Augmentation):
        """Negate every value (a test plugin)."""

        stage = Stage.CHANNEL

        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()
            self.scale = scale

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -self.scale * x

    assert name in AUGMENTATIONS.names()
    pipeline = build_pipeline(f"rq(bins=2)+{name}(scale=2)")
    assert float(pipeline(torch.ones(2, 1, 3)).max()) == -2.0
    with pytest.raises(ValueError, match="already registered"):
        register_augmentation(name)(type("Other", (Augmentation,), {}))
    with pytest.raises(TypeError, match="must be a subclass"):
        register_augmentation("not-a-module")(object)  # type: ignore[arg-type]


def test_a_channel_augmentation_that_takes_no_channels_touches_only_the_layouts() -> None:
    from modalities.points.layout import LAYOUT, SEGMENT

    name = "test-negate-xyz"

    @register_augmentation(name)
    class Negate(Augmentation):
        """Negate every value (a plugin that knows nothing of channels)."""

        stage = Stage.CHANNEL

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -x

    (wrapped,) = build_pipeline(name, layout=LAYOUT).channel
    assert isinstance(wrapped, OnChannels) and isinstance(wrapped.inner, Negate) and wrapped.channels == (0, 1, 2)
    x = torch.randn(2, 5, 7)
    x[..., SEGMENT] = torch.arange(5.0)  # MID-Net's segment ids: negated, they would be out of range
    y = build_pipeline(f"pts_base+{name}", layout=LAYOUT, modality="points").channel(x)
    assert torch.equal(y[..., :3], -x[..., :3]) and torch.equal(y[..., 3:], x[..., 3:])
    # RQ chooses its channels itself, and a layout that names none confines nothing.
    (rq,) = build_pipeline("rq(bins=4)", layout=LAYOUT).channel
    assert isinstance(rq, RandomizedQuantization) and rq.channels == (0, 1, 2)
    (plain,) = build_pipeline(name, layout=ChannelLayout(channel_dim=-1)).channel
    assert isinstance(plain, Negate)


def test_modality_specific_augmentation_is_checked() -> None:
    @register_augmentation("test-only-images")
    class OnlyImages(Augmentation):
        """An images-only view (test plugin)."""

        stage = Stage.VIEW
        modality = "images"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    assert isinstance(build_pipeline("test-only-images+rq", modality="images").view[0], OnlyImages)
    with pytest.raises(SpecError, match="specific to the 'images' modality, not 'audio'"):
        validate_spec("test-only-images", modality="audio")
