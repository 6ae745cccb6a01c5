"""Views cut from whole original images in the DataLoader workers (``data.originals = true``).

MoCo-v3 (facebookresearch/moco-v3) crops every view from the whole decoded image:

* pretraining, ``main_moco.py`` L263/L275 ``RandomResizedCrop(224, scale=(crop_min, 1.))`` and
  L269/L282 ``RandomHorizontalFlip()``, on ``ImageFolder`` images (L287);
* linear classification, ``main_lincls.py`` L273-L274 ``RandomResizedCrop(224)`` +
  ``RandomHorizontalFlip()`` for training, L290-L291 ``Resize(256)`` + ``CenterCrop(224)`` for
  validation.

Here a view is: decode the whole image (:func:`~modalities.images.originals.decode`), then
:class:`RandomView` (torchvision's ``resized_crop`` and ``hflip`` on the PIL image, at the crop
:func:`~modalities.images.views.crop_box` draws) or :class:`CentreView` (torchvision's ``resize``
of the shorter side to ``size / 0.875``, then ``center_crop``), then ``ToTensor``. The PIL operations
are torchvision's own functionals, so a view is pixel for pixel the reference transform's output
at the same crop. Pretraining views leave the workers as ``uint8`` pixels and become ``ToTensor``'s
floats (bit for bit) where the training loop receives them (:attr:`LoaderViews.finish
<rqbench.modality.LoaderViews>`).

:func:`split_views` decides, from a spec's VIEW stage, what the workers do: a leading ``rrc`` (or
``full``'s crop) becomes the workers' RandomView with the same scale, ratio, flip and size; a
leading ``cr``, or no crop, the centre view; every other view augmentation stays in the training
loop, on the cut views (a crop that is not first, e.g. ``cj+rrc``, then crops the centre view).
"""

from __future__ import annotations

from typing import Any

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import Dataset

from rqbench.modality import LoaderViews

from .originals import EncodedImages, decode, pixels, to_float, to_tensor
from .views import _EVAL_CROP_FRACTION, CenterCrop, ImageView, MoCoV3Full, RandomResizedCrop, crop_box, uniform

__all__ = [
    "AfterCrop",
    "CentreView",
    "DecodeItem",
    "Decoded",
    "LabelledView",
    "RandomView",
    "WorkerView",
    "split_views",
]


def _side(size: tuple[int, int] | None, default: int) -> tuple[int, int]:
    return size if size is not None else (default, default)


class RandomView:
    """RandomResizedCrop + horizontal flip of the whole decoded image (MoCo-v3's training view).

    Args:
        size: output ``(height, width)``.
        channels: 1 (grey) or 3 (RGB).
        scale_min, ratio: the crop's area fraction ``U(scale_min, 1)`` and aspect-ratio range.
        flip: probability of the left-right flip.
    """

    def __init__(
        self,
        size: tuple[int, int],
        channels: int,
        scale_min: float = 0.08,
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip: float = 0.5,
    ) -> None:
        self.size, self.channels, self.scale_min, self.ratio, self.flip = size, channels, scale_min, ratio, flip

    def image(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        """The view of a decoded image, as a PIL image (crop drawn first, then the flip coin, from ``generator``)."""
        width, height = image.size
        top, left, h, w = crop_box(generator, height, width, self.scale_min, self.ratio)
        flip = bool(uniform(generator, 1)[0] < self.flip)
        out: Image.Image = TF.resized_crop(image, top, left, h, w, list(self.size))
        return TF.hflip(out) if flip else out

    def __call__(self, data: bytes, generator: torch.Generator) -> Tensor:
        return to_tensor(self.image(decode(data, self.channels), generator))


class CentreView:
    """Resize the shorter side to ``size / 0.875`` (256 for 224), then centre-crop ``size`` (MoCo-v3's
    validation view); deterministic (the generator is ignored)."""

    def __init__(self, size: tuple[int, int], channels: int) -> None:
        self.size, self.channels = size, channels

    def image(self, image: Image.Image, generator: torch.Generator | None = None) -> Image.Image:
        """The view of a decoded image, as a PIL image."""
        out: Image.Image = TF.center_crop(
            TF.resize(image, [int(max(self.size) / _EVAL_CROP_FRACTION)]), list(self.size)
        )
        return out

    def __call__(self, data: bytes, generator: torch.Generator | None = None) -> Tensor:
        return to_tensor(self.image(decode(data, self.channels)))


View = RandomView | CentreView


class DecodeItem:
    """``prepare`` of :class:`~rqbench.modality.LoaderViews`: an ``(encoded bytes, label)`` item's image,
    decoded once for all its views."""

    def __init__(self, channels: int) -> None:
        self.channels = channels

    def __call__(self, item: tuple[bytes, int]) -> Image.Image:
        return decode(item[0], self.channels)


class WorkerView:
    """``make(image, generator, index)`` of :class:`~rqbench.modality.LoaderViews`: ``view`` of the
    decoded image as ``uint8`` pixels (every view index cut the same way, each from its own draws);
    :func:`~modalities.images.originals.to_float` (the ``finish``) makes them ``ToTensor``'s floats
    on the device, so the workers send a quarter of the bytes."""

    def __init__(self, view: View) -> None:
        self.view = view

    def __call__(self, image: Image.Image, generator: torch.Generator, index: int) -> Tensor:
        return pixels(self.view.image(image, generator))


class LabelledView:
    """``make(item, generator)`` of a :class:`~rqbench.drawn.Drawn` labelled set: ``(view, label)``."""

    def __init__(self, view: View) -> None:
        self.view = view

    def __call__(self, item: tuple[bytes, int], generator: torch.Generator) -> tuple[Tensor, int]:
        return self.view(item[0], generator), item[1]


class Decoded(Dataset[tuple[Tensor, int]]):
    """Originals through the deterministic :class:`CentreView`: ``(float (C, S, S), label)`` items."""

    def __init__(self, images: EncodedImages, view: CentreView) -> None:
        self.images, self.view = images, view

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        data, label = self.images[i]
        return self.view(data), label


class AfterCrop(ImageView):
    """``full`` without its crop (which the data loader made): jitter, grayscale, blur, solarize."""

    def __init__(self, full: MoCoV3Full) -> None:
        super().__init__(full.generator)
        self.full = full

    def batch_forward(self, x: Tensor, index: int) -> Tensor:
        if index < 0:
            raise ValueError(f"view index must be >= 0, got {index}")
        for part in self.full.parts(index)[1:]:
            x = part.batch_forward(x, index)
        return x


def split_views(view: nn.Sequential, size: int, channels: int) -> LoaderViews:
    """What the data loader cuts from whole images, and what of the VIEW stage ``view`` is left to the loop.

    Args:
        view: a spec's VIEW stage (``pipeline.view``).
        size: the side of the views (``data.size``), for crops that keep the input size.
        channels: the images' channels.
    """
    modules: list[Any] = list(view)
    first = modules[0] if modules else None
    made: View
    if isinstance(first, MoCoV3Full):
        crop = first.crop
        made = RandomView(_side(crop.size, size), channels, crop.scale_min, crop.ratio, crop.flip)
        rest = [AfterCrop(first), *modules[1:]]
    elif isinstance(first, RandomResizedCrop):
        made = RandomView(_side(first.size, size), channels, first.scale_min, first.ratio, first.flip)
        rest = modules[1:]
    elif isinstance(first, CenterCrop):
        made, rest = CentreView(_side(first.size, size), channels), modules[1:]
    else:
        made, rest = CentreView((size, size), channels), modules
    return LoaderViews(WorkerView(made), nn.Sequential(*rest), DecodeItem(channels), to_float)
