"""Image views: per-sample randomness, known answers, the asymmetric "full" pipeline, specs."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as F
from torch import Tensor, nn

import modalities.images.views as V
from rqbench.augment import AUGMENTATIONS, RandomizedQuantization, SpecError, Stage, build_pipeline

NAMES = ("cr", "rrc", "cj", "gray", "blur", "solarize", "full")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 16, channels: int = 3, size: int = 28, seed: int = 0) -> Tensor:
    """Random images with spatial structure (a gradient plus noise), in [0, 1]."""
    g = gen(seed)
    ramp = torch.linspace(0, 1, size).view(1, 1, 1, size).expand(n, channels, size, size)
    return (0.5 * ramp + 0.5 * torch.rand(n, channels, size, size, generator=g)).contiguous()


def per_sample_equal(a: Tensor, b: Tensor) -> Tensor:
    return (a == b).flatten(1).all(1)


# -- every view ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_registered_as_images_view_stage(name: str) -> None:
    cls = AUGMENTATIONS.get(name)
    assert issubclass(cls, V.ImageView)
    assert cls.stage is Stage.VIEW and cls.modality == "images"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_keeps_shape_dtype_and_range(name: str, channels: int, dtype: torch.dtype) -> None:
    x = images(8, channels).to(dtype)
    x[0] = 0.0  # extremes stay in range (solarize, jitter, blur rounding)
    x[1] = 1.0
    aug = AUGMENTATIONS.get(name)(generator=gen(1))
    for index in (0, 1):
        y = aug(x, index)
        assert y.shape == x.shape and y.dtype == dtype
        assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert torch.equal(x[1], torch.ones_like(x[1]))  # the input is not modified in place


@pytest.mark.parametrize("name", NAMES)
def test_single_image_is_accepted(name: str) -> None:
    x = images(1, 3)[0]
    assert AUGMENTATIONS.get(name)(generator=gen())(x).shape == x.shape


def test_bad_inputs_are_refused_clearly() -> None:
    rrc = V.RandomResizedCrop()
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3 \\(RGB\\) channels"):
        rrc(torch.rand(2, 2, 8, 8))
    with pytest.raises(ValueError, match="\\(B, C, H, W\\)"):
        rrc(torch.rand(8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        rrc(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="p must lie in"):
        V.ColorJitter(p=1.5)
    with pytest.raises(ValueError, match="scale_min"):
        V.RandomResizedCrop(scale_min=0.0)


@pytest.mark.parametrize("name", ["rrc", "cj", "blur", "full"])
def test_identical_samples_get_different_parameters(name: str) -> None:
    x = images(1, 3).expand(4, -1, -1, -1).contiguous()
    kwargs = {"p": 1.0} if name in ("cj", "blur") else {}
    y = AUGMENTATIONS.get(name)(generator=gen(2), **kwargs)(x)
    for i in range(1, 4):
        assert not torch.equal(y[0], y[i])


@pytest.mark.parametrize("name", ["rrc", "cj", "gray", "blur", "solarize", "full"])
def test_generator_makes_views_reproducible(name: str) -> None:
    x = images(8, 3)
    cls = AUGMENTATIONS.get(name)
    a, b = cls(generator=gen(5))(x, 1), cls(generator=gen(5))(x, 1)
    assert torch.equal(a, b)


def test_global_rng_is_used_without_generator() -> None:
    x = images(8, 3)
    torch.manual_seed(3)
    a = V.MoCoV3Full()(x, 1)
    torch.manual_seed(3)
    b = V.MoCoV3Full()(x, 1)
    c = V.MoCoV3Full()(x, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)


# -- cr ----------------------------------------------------------------------------------


def test_center_crop_at_input_size_is_identity() -> None:
    x = images(4, 3, 28)
    assert torch.equal(V.CenterCrop(28)(x), x)
    assert torch.equal(V.CenterCrop()(x), x)
    assert torch.equal(V.CenterCrop(28)(x, 1), V.CenterCrop(28)(x, 0))  # deterministic


def test_center_crop_follows_the_imagenet_eval_transform() -> None:
    # 32 = int(28 / 0.875): no resize, the central 28 x 28.
    x = images(3, 1, 32)
    assert torch.equal(V.CenterCrop(28)(x), x[..., 2:30, 2:30])
    # Larger inputs: Resize(int(size / 0.875)) then CenterCrop(size), as Resize(256) + CenterCrop(224).
    big = images(2, 3, 64)
    expected = F.center_crop(F.resize(big, [32], antialias=True), [28]).clamp(0, 1)
    assert torch.allclose(V.CenterCrop(28)(big), expected)
    assert V.CenterCrop((20, 24))(big).shape == (2, 3, 20, 24)
    assert V.CenterCrop(40)(images(2, 1, 28)).shape == (2, 1, 40, 40)  # smaller inputs are upsampled


# -- rrc ---------------------------------------------------------------------------------


def test_random_resized_crop_output_size() -> None:
    x = images(6, 3, 28)
    assert V.RandomResizedCrop(size=16)(x).shape == (6, 3, 16, 16)
    assert V.RandomResizedCrop(size=(12, 20))(x).shape == (6, 3, 12, 20)
    assert V.RandomResizedCrop()(x).shape == x.shape


def test_random_resized_crop_parameters_follow_torchvision_ranges() -> None:
    rrc = V.RandomResizedCrop(scale_min=0.08, generator=gen(4))
    top, left, h, w = rrc.crop_params(2000, 28, 28).T
    assert bool((top >= 0).all() and (left >= 0).all() and (top + h <= 28).all() and (left + w <= 28).all())
    area = (h * w).double() / (28 * 28)
    assert float(area.min()) > 0.05 and float(area.max()) <= 1.0  # 0.08 up to rounding
    aspect = w.double() / h.double()
    assert float(aspect.min()) > 0.6 and float(aspect.max()) < 1.6
    assert len(set(zip(top.tolist(), left.tolist(), h.tolist(), w.tolist()))) > 1000  # independent draws


def test_full_scale_crop_is_identity_and_flip_mirrors() -> None:
    x = images(5, 3, 28)
    assert torch.allclose(V.RandomResizedCrop(scale_min=1.0, flip=0.0)(x), x)
    assert torch.allclose(V.RandomResizedCrop(scale_min=1.0, flip=1.0)(x), x.flip(-1))
    flipped = per_sample_equal(
        V.RandomResizedCrop(scale_min=1.0, flip=0.5, generator=gen(0))(images(64, 1)), images(64, 1).flip(-1)
    )
    assert 10 < int(flipped.sum()) < 54


# -- cj ----------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_color_jitter_probability(channels: int) -> None:
    x = images(16, channels)
    assert torch.equal(V.ColorJitter(p=0.0)(x), x)
    changed = ~per_sample_equal(V.ColorJitter(p=1.0, generator=gen(6))(x), x)
    assert bool(changed.all())
    some = ~per_sample_equal(V.ColorJitter(p=0.5, generator=gen(6))(images(64, channels)), images(64, channels))
    assert 10 < int(some.sum()) < 54


def test_color_jitter_on_gray_uses_brightness_and_contrast_only() -> None:
    gray = images(8, 1)
    assert torch.equal(V.ColorJitter(p=1.0, brightness=0, contrast=0, saturation=0.9, hue=0.5)(gray), gray)
    rgb = images(8, 3)
    assert not torch.equal(
        V.ColorJitter(p=1.0, brightness=0, contrast=0, saturation=0, hue=0.5, generator=gen())(rgb), rgb
    )


def test_color_jitter_brightness_known_answer() -> None:
    # Only brightness, strength 0.5: each sample is scaled by one factor in [0.5, 1.5].
    x = torch.full((32, 1, 4, 4), 0.5)
    y = V.ColorJitter(p=1.0, brightness=0.5, contrast=0, saturation=0, hue=0, generator=gen())(x)
    factors = y[:, 0, 0, 0] / 0.5
    assert torch.allclose(y, factors.view(-1, 1, 1, 1).expand_as(y) * 0.5)
    assert float(factors.min()) >= 0.5 and float(factors.max()) <= 1.5 and float(factors.std()) > 0.1


# -- gray, blur, solarize ------------------------------------------------------------------


def test_grayscale_makes_channels_equal_on_rgb() -> None:
    x = images(8, 3)
    y = V.RandomGrayscale(p=1.0)(x)
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    assert torch.allclose(y, F.rgb_to_grayscale(x, num_output_channels=3))
    assert torch.equal(V.RandomGrayscale(p=0.0)(x), x)
    gray = images(8, 1)
    assert torch.equal(V.RandomGrayscale(p=1.0)(gray), gray)


def test_blur_kernel_size_is_ten_percent_and_odd() -> None:
    assert V.blur_kernel_size(224, 224) == 23
    assert V.blur_kernel_size(28, 28) == 3 and V.blur_kernel_size(32, 32) == 3
    assert V.blur_kernel_size(96, 64) == 7


def test_blur_smooths_and_respects_probability() -> None:
    x = torch.rand(8, 1, 28, 28, generator=gen())
    y = V.GaussianBlur(p=1.0, sigma_min=1.0, sigma_max=2.0, generator=gen())(x)

    def roughness(t: Tensor) -> Tensor:
        return (t[..., 1:] - t[..., :-1]).abs().flatten(1).mean(1)

    assert bool((roughness(y) < 0.8 * roughness(x)).all())
    assert torch.allclose(y.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.02)
    assert torch.equal(V.GaussianBlur(p=0.0)(x), x)


def test_solarize_known_answer() -> None:
    x = torch.tensor([0.0, 0.2, 0.49, 0.5, 0.7, 1.0]).view(1, 1, 1, 6).repeat(4, 3, 2, 1)
    expected = torch.tensor([0.0, 0.2, 0.49, 0.5, 0.3, 0.0]).view(1, 1, 1, 6).expand_as(x)
    assert torch.allclose(V.RandomSolarize(p=1.0, threshold=0.5)(x), expected)
    assert torch.equal(V.RandomSolarize(p=0.0)(x), x)


# -- full --------------------------------------------------------------------------------


def composed(seed: int, blur_p: float, solarize_p: float) -> nn.Module:
    """MoCo v3's pipeline built by hand from the parts (all draw from one generator)."""
    g = gen(seed)
    parts = [
        V.RandomResizedCrop(0.08, generator=g),
        V.ColorJitter(0.8, 0.4, 0.4, 0.2, 0.1, generator=g),
        V.RandomGrayscale(0.2, generator=g),
        V.GaussianBlur(blur_p, generator=g),
        V.RandomSolarize(solarize_p, generator=g),
    ]
    return nn.Sequential(*parts)


@pytest.mark.parametrize("index, blur_p, solarize_p", [(0, 1.0, 0.0), (1, 0.1, 0.2)])
def test_full_is_moco_v3_asymmetric_pipeline(index: int, blur_p: float, solarize_p: float) -> None:
    x = images(32, 3)
    expected = V.apply_views(composed(7, blur_p, solarize_p), x, index)
    assert torch.equal(V.MoCoV3Full(generator=gen(7))(x, index), expected)


def test_full_view0_always_blurs_and_never_solarizes() -> None:
    x = images(64, 3)
    full = V.MoCoV3Full(generator=gen(8))(x, 0)
    unblurred = composed(8, blur_p=0.0, solarize_p=0.0)(x)  # same draws, blur switched off
    blurred = ~per_sample_equal(full, unblurred)
    assert int(blurred.sum()) >= 56  # all but the few with sigma ~0.1 (a numerically invisible blur)
    assert torch.equal(full, composed(8, blur_p=1.0, solarize_p=0.0)(x))


def test_full_view1_sometimes_solarizes() -> None:
    x = images(256, 3)
    full = V.MoCoV3Full(generator=gen(9))(x, 1)
    unsolarized = composed(9, blur_p=0.1, solarize_p=0.0)(x)
    solarized = ~per_sample_equal(full, unsolarized)
    assert 25 < int(solarized.sum()) < 80  # p = 0.2 of 256: about 51
    full0 = V.MoCoV3Full(generator=gen(9))(x, 0)
    assert torch.equal(full0, composed(9, blur_p=1.0, solarize_p=0.0)(x))


def test_full_views_differ_and_reject_negative_index() -> None:
    x = images(8, 3)
    torch.manual_seed(0)
    v0 = V.MoCoV3Full()(x, 0)
    torch.manual_seed(0)
    v1 = V.MoCoV3Full()(x, 1)
    assert not torch.equal(v0, v1)
    with pytest.raises(ValueError, match="index"):
        V.MoCoV3Full()(x, -1)


# -- apply_views and specs -----------------------------------------------------------------


class AddOne(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x + 1


def test_apply_views_passes_the_index_in_order() -> None:
    x = images(8, 3)
    seq = nn.Sequential(V.MoCoV3Full(generator=gen(3)), V.RandomSolarize(p=1.0))
    expected = V.RandomSolarize(p=1.0)(V.MoCoV3Full(generator=gen(3))(x, 1))
    assert torch.equal(V.apply_views(seq, x, 1), expected)
    assert torch.equal(V.apply_views(nn.Sequential(), x, 0), x)
    assert torch.equal(V.apply_views(nn.Sequential(V.CenterCrop(), AddOne()), x, 1), x + 1)  # no index argument
    assert torch.equal(V.apply_views(V.RandomGrayscale(p=1.0), x, 0), V.RandomGrayscale(p=1.0)(x))


def test_spec_builds_views_into_the_view_stage() -> None:
    pipeline = build_pipeline("rrc+cj+rq(bins=8)", modality="images")
    assert [type(m) for m in pipeline.view] == [V.RandomResizedCrop, V.ColorJitter]
    assert [type(m) for m in pipeline.channel] == [RandomizedQuantization]
    x = images(4, 3)
    out = pipeline(V.apply_views(pipeline.view, x, 0))
    assert out.shape == x.shape


def test_spec_arguments_and_generator_reach_the_views() -> None:
    g = gen()
    pipeline = build_pipeline("rrc(scale_min=0.2,size=16)+blur(p=0.5)+full", modality="images", generator=g)
    rrc, blur, full = pipeline.view
    assert rrc.scale_min == 0.2 and rrc.size == (16, 16) and blur.p == 0.5
    assert rrc.generator is g and full.crop.generator is g
    with pytest.raises(SpecError, match="no argument 'bins'"):
        build_pipeline("cj(bins=3)", modality="images")
    with pytest.raises(SpecError, match="must come before"):
        build_pipeline("rq+rrc", modality="images")


def test_image_views_refuse_other_modalities() -> None:
    with pytest.raises(SpecError, match="'rrc' is specific to the 'images' modality, not 'audio'"):
        build_pipeline("rrc", modality="audio")
