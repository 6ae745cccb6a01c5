"""Image views (the VIEW stage of the images modality): crops, colour jitter, grayscale, blur, solarize.

Each view is an :class:`~rqbench.augment.Augmentation` registered in the one augmentation
registry, so a spec such as ``"rrc+cj+rq(bins=8)"`` builds them (they land in
``pipeline.view``). They work on a batch ``(B, C, H, W)`` of float images in ``[0, 1]``
(``C`` = 1 or 3; a single ``(C, H, W)`` image is accepted too) and draw independent
random parameters **per sample**: the parameters are drawn here (from ``generator``, or
torch's global RNG when it is ``None``) and handed to the image operations of
:mod:`torchvision.transforms.v2.functional`. A ``torchvision.transforms.v2`` transform
applied to a batch tensor would instead share one draw across the whole batch.

``forward(x, index)`` takes the view number (0 for the first view, 1 for the second):
only :class:`MoCoV3Full` uses it (its blur and solarize probabilities differ between
the two views, as in BYOL, Grill et al. 2020); the others ignore it.

The names and defaults follow the MoCo v3 recipe (Chen, Xie & He 2021,
facebookresearch/moco-v3 ``main_moco.py``):

=============  ==============================================================================
``cr``         centre crop, the "no augmentation" baseline (ImageNet eval transform)
``rrc``        RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3)) + horizontal flip
``cj``         ColorJitter(0.4, 0.4, 0.2, 0.1) applied with probability 0.8
``gray``       RandomGrayscale(p=0.2)
``blur``       GaussianBlur, kernel ~10 % of the image, sigma ~ U(0.1, 2.0)
``solarize``   RandomSolarize(threshold=0.5, p=0.2)
``full``       rrc, cj, gray, blur (p = 1.0 / 0.1), solarize (p = 0 / 0.2) for views 0 / 1
=============  ==============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
import torchvision.transforms.v2.functional as F
from torch import Tensor, nn

from rqbench.augment.base import Augmentation, Stage, check_float_tensor, check_probability
from rqbench.augment.registry import register_augmentation
from rqbench.augment.spec import apply_views  # re-exported: the view stage with its index

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "GaussianBlur",
    "ImageView",
    "MoCoV3Full",
    "RandomGrayscale",
    "RandomResizedCrop",
    "RandomSolarize",
    "apply_views",
    "blur_kernel_size",
    "crop_box",
    "crop_params",
    "uniform",
]

Size = int | tuple[int, int] | list[int] | None
_EVAL_CROP_FRACTION = 0.875  # ImageNet eval: Resize(256) then CenterCrop(224)


def _pair(size: Size, name: str = "size") -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, bool):
        raise TypeError(f"{name} must be an int, a pair of ints or None, got {size!r}")
    if isinstance(size, int):
        size = (size, size)
    if not (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"{name} must be an int, a pair of ints or None, got {size!r}")
    if min(size) < 1:
        raise ValueError(f"{name} must be positive, got {size!r}")
    return int(size[0]), int(size[1])


def _nonnegative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class ImageView(Augmentation):
    """Base of the image views: VIEW stage, ``images`` modality, per-sample draws.

    Args:
        generator: optional ``torch.Generator`` for the random parameters (on the CPU or
            on the images' device); ``None`` uses torch's global RNG.
    """

    stage = Stage.VIEW
    modality = "images"

    def __init__(self, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.generator = generator

    def _uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
        """``U(low, high)`` draws on the CPU (parameters are read back as Python numbers)."""
        return uniform(self.generator, *shape, low=low, high=high)

    def _coin(self, n: int, p: float) -> Tensor:
        """Which of ``n`` samples get an operation applied with probability ``p`` (always drawn)."""
        return self._uniform(n) < p

    def forward(self, x: Tensor, index: int = 0) -> Tensor:
        """View ``index`` of a batch ``(B, C, H, W)`` (or one image ``(C, H, W)``)."""
        batch, single = _as_batch(x, type(self).__name__)
        out = self.batch_forward(batch, index)
        return out[0] if single else out

    def batch_forward(self, x: Tensor, index: int) -> Tensor:  # pragma: no cover - interface
        """Transform a checked batch ``(B, C, H, W)``."""
        raise NotImplementedError


def uniform(generator: torch.Generator | None, *shape: int, low: float = 0.0, high: float = 1.0) -> Tensor:
    """``U(low, high)`` float64 draws of ``shape`` from ``generator`` (torch's global RNG if ``None``), on the CPU."""
    device = generator.device if generator is not None else torch.device("cpu")
    draws = torch.rand(shape, generator=generator, device=device, dtype=torch.float64).cpu()
    return low + (high - low) * draws


def crop_params(
    generator: torch.Generator | None,
    n: int,
    height: int,
    width: int,
    scale_min: float = 0.08,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> Tensor:
    """``(n, 4)`` integer crops ``(top, left, height, width)`` of a ``height x width`` image, torchvision's
    ``RandomResizedCrop.get_params`` per sample (area ``U(scale_min, 1)``, log-uniform aspect ratio,
    10 attempts, then the centre-crop fallback), drawn from ``generator``."""
    attempts = 10
    area = height * width
    target = area * uniform(generator, n, attempts, low=scale_min, high=1.0)
    log_ratio = uniform(generator, n, attempts, low=math.log(ratio[0]), high=math.log(ratio[1]))
    aspect = torch.exp(log_ratio)
    w = torch.round(torch.sqrt(target * aspect)).long()
    h = torch.round(torch.sqrt(target / aspect)).long()
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = torch.where(ok.any(1), ok.long().argmax(1), torch.full((n,), -1))
    pos = uniform(generator, n, 2)
    # Centre-crop fallback (no attempt fitted), as torchvision.
    in_ratio = width / height
    if in_ratio < ratio[0]:
        fw, fh = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        fw, fh = round(height * ratio[1]), height
    else:
        fw, fh = width, height
    rows = torch.arange(n)
    pick = first.clamp_min(0)
    ch = torch.where(first >= 0, h[rows, pick], torch.full((n,), fh))
    cw = torch.where(first >= 0, w[rows, pick], torch.full((n,), fw))
    top = torch.where(first >= 0, (pos[:, 0] * (height - ch + 1)).long().clamp_max(height - ch), (height - ch) // 2)
    left = torch.where(first >= 0, (pos[:, 1] * (width - cw + 1)).long().clamp_max(width - cw), (width - cw) // 2)
    return torch.stack([top, left, ch, cw], dim=1)


def crop_box(
    generator: torch.Generator | None,
    height: int,
    width: int,
    scale_min: float = 0.08,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """One crop ``(top, left, height, width)``: :func:`crop_params` with ``n = 1`` (the same draws from
    ``generator``, the same crop), in Python floats: a tenth of its time, for one image at a time."""
    attempts = 10
    area = height * width
    target = uniform(generator, 1, attempts, low=scale_min, high=1.0)[0].tolist()
    log_ratio = uniform(generator, 1, attempts, low=math.log(ratio[0]), high=math.log(ratio[1]))[0].tolist()
    pos = uniform(generator, 1, 2)[0].tolist()
    for t, r in zip(target, log_ratio, strict=True):
        aspect = math.exp(r)
        w, h = round(math.sqrt(area * t * aspect)), round(math.sqrt(area * t / aspect))
        if 0 < w <= width and 0 < h <= height:
            return min(int(pos[0] * (height - h + 1)), height - h), min(int(pos[1] * (width - w + 1)), width - w), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _as_batch(x: Tensor, name: str) -> tuple[Tensor, bool]:
    check_float_tensor(x, f"{name} input")
    if x.ndim == 3:
        x, single = x.unsqueeze(0), True
    elif x.ndim == 4:
        single = False
    else:
        raise ValueError(f"{name} expects images (B, C, H, W) or (C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} expects 1 (gray) or 3 (RGB) channels on axis 1, got shape {tuple(x.shape)}")
    return x, single


def _apply_masked(x: Tensor, mask: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn`` (a batched op) on the samples selected by ``mask``; the others unchanged."""
    if not bool(mask.any()):
        return x
    mask = mask.to(x.device)
    out = x.clone()
    out[mask] = fn(x[mask])
    return out


def _per_sample(x: Tensor, todo: Tensor, fn: Callable[[Tensor, int], Tensor]) -> Tensor:
    """``fn(image, b)`` on each sample ``b`` with ``todo[b]``; the others unchanged."""
    idx = torch.nonzero(todo).flatten().tolist()
    if not idx:
        return x
    out = x.clone()
    for b in idx:
        out[b] = fn(x[b], b)
    return out


@register_augmentation("cr")
class CenterCrop(ImageView):
    """Centre crop, the "no augmentation" baseline (deterministic; the ImageNet eval transform).

    With ``size=None``, or an input already ``size``, it is the identity. A larger input is
    resized (shorter side, antialiased bilinear) to ``size / 0.875`` and centre-cropped to
    ``size`` (Resize(256) + CenterCrop(224) for ImageNet); a smaller one is resized to
    ``size`` on its shorter side and centre-cropped.

    Args:
        size: output side (int) or ``(height, width)``; ``None`` keeps the input.
    """

    def __init__(self, size: Size = None, generator: torch.Generator | None = None) -> None:
        super().__init__(generator)
        self.size = _pair(size)

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        if self.size is None or tuple(x.shape[-2:]) == self.size:
            return x
        side = max(self.size)
        shorter = min(x.shape[-2:])
        resize_to = int(side / _EVAL_CROP_FRACTION) if shorter > side else side
        if shorter != resize_to:
            x = F.resize(x, [resize_to], antialias=True)
        return F.center_crop(x, list(self.size)).clamp(0.0, 1.0)

    def extra_repr(self) -> str:
        return f"size={self.size}"


@register_augmentation("rrc")
class RandomResizedCrop(ImageView):
    """RandomResizedCrop + RandomHorizontalFlip, with independent parameters per sample.

    As in MoCo v3 (``crop_min`` = 0.08) and SimCLR/BYOL: a crop of area
    ``U(scale_min, 1)`` x the image area and aspect ratio log-uniform in ``ratio``
    (torchvision's 10 attempts, then a centre-crop fallback), resized (bilinear,
    antialiased) to ``size``, then flipped left-right with probability ``flip``.

    Args:
        scale_min: smallest crop area as a fraction of the image.
        size: output side (int) or ``(height, width)``; ``None`` keeps the input size.
        flip: probability of the horizontal flip (0.5 in MoCo v3).
        ratio: range of crop aspect ratios (width / height).
        generator: optional ``torch.Generator``.
    """

    def __init__(
        self,
        scale_min: float = 0.08,
        size: Size = None,
        flip: float = 0.5,
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        if isinstance(scale_min, bool) or not isinstance(scale_min, (int, float)) or not 0.0 < scale_min <= 1.0:
            raise ValueError(f"scale_min must lie in (0, 1], got {scale_min!r}")
        if not (isinstance(ratio, (tuple, list)) and len(ratio) == 2 and 0 < ratio[0] <= ratio[1]):
            raise ValueError(f"ratio must be a pair 0 < low <= high, got {ratio!r}")
        self.scale_min = float(scale_min)
        self.size = _pair(size)
        self.flip = check_probability(flip, "flip")
        self.ratio = (float(ratio[0]), float(ratio[1]))

    def crop_params(self, n: int, height: int, width: int) -> Tensor:
        """``(n, 4)`` integer crops ``(top, left, height, width)``, torchvision's sampling per sample."""
        return crop_params(self.generator, n, height, width, self.scale_min, self.ratio)

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        n, _, height, width = x.shape
        size = list(self.size or (height, width))
        params = self.crop_params(n, height, width).tolist()
        flips = self._coin(n, self.flip)
        out = torch.stack(
            [F.resized_crop(x[b], t, left, h, w, size, antialias=True) for b, (t, left, h, w) in enumerate(params)]
        )
        out = out.clamp_(0.0, 1.0)
        return _apply_masked(out, flips, F.horizontal_flip)

    def extra_repr(self) -> str:
        return f"scale_min={self.scale_min}, size={self.size}, flip={self.flip}"


@register_augmentation("cj")
class ColorJitter(ImageView):
    """ColorJitter applied with probability ``p``, parameters drawn per sample.

    As torchvision's ``ColorJitter``: brightness, contrast and saturation factors
    ``U(max(0, 1 - v), 1 + v)``, hue shift ``U(-hue, hue)``, the four applied in a random
    order; MoCo v3 uses ``ColorJitter(0.4, 0.4, 0.2, 0.1)`` with ``p = 0.8``. On
    1-channel images saturation and hue do not exist, so only brightness and contrast
    are applied (the saturation and hue draws are still made and ignored).

    Args:
        p: probability of jittering each sample.
        brightness, contrast, saturation: jitter strengths (>= 0; 0 disables one).
        hue: hue jitter in [0, 0.5].
        generator: optional ``torch.Generator``.
    """

    def __init__(
        self,
        p: float = 0.8,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(generator)
        self.p = check_probability(p)
        self.brightness = _nonnegative(brightness, "brightness")
        self.contrast = _nonnegative(contrast, "contrast")
        self.saturation = _nonnegative(saturation, "saturation")
        self.hue = _nonnegative(hue, "hue")
        if self.hue > 0.5:
            raise ValueError(f"hue must lie in [0, 0.5], got {hue!r}")

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        n, channels = x.shape[:2]
        apply = self._coin(n, self.p)
        u = self._uniform(n, 4)
        factors = [1.0 + (2 * u[:, i] - 1) * s for i, s in enumerate((self.brightness, self.contrast, self.saturation))]
        factors = [f.clamp_min(0.0) for f in factors] + [(2 * u[:, 3] - 1) * self.hue]
        order = torch.argsort(self._uniform(n, 4), dim=1)
        ops = [
            (F.adjust_brightness, self.brightness > 0),
            (F.adjust_contrast, self.contrast > 0),
            (F.adjust_saturation, self.saturation > 0 and channels == 3),
            (F.adjust_hue, self.hue > 0 and channels == 3),
        ]
        values = torch.stack(factors, dim=1).tolist()
        order_list = order.tolist()

        def jitter(img: Tensor, b: int) -> Tensor:
            for op in order_list[b]:
                fn, active = ops[op]
                if active:
                    img = fn(img, values[b][op])
            return img

        return _per_sample(x, apply, jitter)

    def extra_repr(self) -> str:
        return (
            f"p={self.p}, brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue}"
        )


@register_augmentation("gray")
class RandomGrayscale(ImageView):
    """RandomGrayscale: with probability ``p`` an RGB sample becomes gray (3 equal channels).

    The identity on 1-channel images.

    Args:
        p: probability per sample (0.2 in MoCo v3).
        generator: optional ``torch.Generator``.
    """

    def __init__(self, p: float = 0.2, generator: torch.Generator | None = None) -> None:
        super().__init__(generator)
        self.p = check_probability(p)

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        mask = self._coin(x.shape[0], self.p)
        if x.shape[1] == 1:
            return x
        return _apply_masked(x, mask, lambda imgs: F.rgb_to_grayscale(imgs, num_output_channels=3).clamp(0.0, 1.0))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def blur_kernel_size(height: int, width: int) -> int:
    """Odd Gaussian kernel side ~10 % of the image (23 for 224 px, as BYOL; 3 for 28-32 px)."""
    return max(3, (min(height, width) // 10) | 1)


@register_augmentation("blur")
class GaussianBlur(ImageView):
    """Gaussian blur applied with probability ``p``; sigma ``U(sigma_min, sigma_max)`` per sample.

    The kernel side is ~10 % of the image, odd (:func:`blur_kernel_size`), as BYOL
    (Grill et al. 2020); MoCo v3 uses sigma in [0.1, 2.0] with ``p`` = 1.0 / 0.1 for its
    two views.

    Args:
        p: probability of blurring each sample.
        sigma_min, sigma_max: range of the blur's standard deviation (pixels).
        generator: optional ``torch.Generator``.
    """

    def __init__(
        self, p: float = 1.0, sigma_min: float = 0.1, sigma_max: float = 2.0, generator: torch.Generator | None = None
    ) -> None:
        super().__init__(generator)
        self.p = check_probability(p)
        if isinstance(sigma_min, bool) or not isinstance(sigma_min, (int, float)) or not 0 < sigma_min <= sigma_max:
            raise ValueError(f"need 0 < sigma_min <= sigma_max, got sigma_min={sigma_min!r}, sigma_max={sigma_max!r}")
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        n, _, height, width = x.shape
        apply = self._coin(n, self.p)
        sigmas = self._uniform(n, low=self.sigma_min, high=self.sigma_max).tolist()
        k = blur_kernel_size(height, width)
        # Clamped: the convolution's rounding can leave values a few ulps outside [0, 1].
        return _per_sample(
            x, apply, lambda img, b: F.gaussian_blur(img, [k, k], [sigmas[b], sigmas[b]]).clamp_(0.0, 1.0)
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, sigma=({self.sigma_min}, {self.sigma_max})"


@register_augmentation("solarize")
class RandomSolarize(ImageView):
    """RandomSolarize: with probability ``p``, values ``>= threshold`` become ``1 - x``.

    For float images in [0, 1] (MoCo v3 / BYOL: threshold 128/255 on bytes, 0.5 here).

    Args:
        p: probability per sample.
        threshold: solarization threshold in [0, 1].
        generator: optional ``torch.Generator``.
    """

    def __init__(self, p: float = 0.2, threshold: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__(generator)
        self.p = check_probability(p)
        self.threshold = check_probability(threshold, "threshold")

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        mask = self._coin(x.shape[0], self.p)
        return _apply_masked(x, mask, lambda imgs: F.solarize(imgs, self.threshold))

    def extra_repr(self) -> str:
        return f"p={self.p}, threshold={self.threshold}"


@register_augmentation("full")
class MoCoV3Full(ImageView):
    """MoCo v3's full asymmetric augmentation (BYOL's, Grill et al. 2020): ``rrc`` ``cj`` ``gray`` ``blur`` ``solarize``.

    RandomResizedCrop(scale_min, 1) + flip, ColorJitter(0.4, 0.4, 0.2, 0.1) with
    p = 0.8, grayscale p = 0.2, then Gaussian blur with p = 1.0 for view 0 and 0.1 for
    view 1, and solarize with p = 0 for view 0 and 0.2 for view 1. Views numbered 2 and
    above use view 1's settings.

    Args:
        scale_min: smallest crop area fraction (MoCo v3's ``crop_min``).
        size: output side of the crop; ``None`` keeps the input size.
        generator: optional ``torch.Generator`` shared by the parts.
    """  # noqa: E501  (its first line is the `rqbench list` summary)

    BLUR_P = (1.0, 0.1)
    SOLARIZE_P = (0.0, 0.2)

    def __init__(self, scale_min: float = 0.08, size: Size = None, generator: torch.Generator | None = None) -> None:
        super().__init__(generator)
        self.crop = RandomResizedCrop(scale_min, size, generator=generator)
        self.jitter = ColorJitter(0.8, 0.4, 0.4, 0.2, 0.1, generator=generator)
        self.gray = RandomGrayscale(0.2, generator=generator)
        self.blur = nn.ModuleList(GaussianBlur(p, generator=generator) for p in self.BLUR_P)
        self.solarize = nn.ModuleList(RandomSolarize(p, generator=generator) for p in self.SOLARIZE_P)

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        if index < 0:
            raise ValueError(f"view index must be >= 0, got {index}")
        for part in self.parts(index):
            x = part.batch_forward(x, index)
        return x

    def parts(self, index: int) -> tuple[ImageView, ...]:
        """View ``index``'s parts in order: crop, jitter, grayscale, blur, solarize."""
        view = min(index, 1)
        blur, solarize = cast(GaussianBlur, self.blur[view]), cast(RandomSolarize, self.solarize[view])
        return (self.crop, self.jitter, self.gray, blur, solarize)
