"""Audio views (the VIEW stage of the audio modality): BYOL-A's random resized crop on log-mels.

``audio-rrc`` is BYOL-A's ``RandomResizeCrop`` (Niizumi et al., "BYOL for Audio", IJCNN 2021),
re-implemented from its description, with parameters drawn **per sample**:

1. a *virtual canvas* ``canvas`` times the input (``(1.0, 1.5)``: the same number of mel bands,
   1.5 times the frames) is filled with ``fill`` (0, the mean of pre-normalized log-mels) and
   the log-mel is pasted at its centre;
2. a crop of ``int(U(freq_scale) * F)`` bands by ``int(U(time_scale) * T)`` frames (each clipped
   to ``[1, canvas]``) is taken at a uniformly random position of the canvas;
3. the crop is resized back to ``(F, T)`` by bicubic interpolation (``align_corners=True``).

With the defaults, the frequency crop covers 60 % to 100 % of the bands (a draw above 1.0 is
clipped to the canvas height: 5/9 of the samples keep every band) and the time crop 60 % to
150 % of the frames, i.e. a stretch or squeeze in time with a random amount of silence.

Random parameters come from ``generator`` (the trainer's augmentation generator) or torch's
global RNG when it is ``None``; all draws of a batch are made at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rqbench.augment.base import Augmentation, Stage, check_float_tensor
from rqbench.augment.registry import register_augmentation

__all__ = ["AudioRandomResizedCrop", "crop_boxes"]


def _range(value: object, name: str) -> tuple[float, float]:
    if not (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not 0 < low <= high:
        raise ValueError(f"{name} must satisfy 0 < low <= high, got {value!r}")
    return low, high


def crop_boxes(
    u: Tensor,
    size: tuple[int, int],
    canvas: tuple[int, int],
    freq_scale: tuple[float, float],
    time_scale: tuple[float, float],
) -> Tensor:
    """Crop boxes ``(n, 4)`` = ``(top, left, height, width)`` on the canvas from uniform draws ``u`` ``(n, 4)``.

    ``height = clip(int(U(freq_scale) * F), 1, canvas_F)`` (likewise ``width`` in time); the
    position is uniform over the canvas positions where the crop fits (BYOL-A's ``get_params``).
    """
    (f, t), (cf, ct) = size, canvas
    h = (freq_scale[0] + (freq_scale[1] - freq_scale[0]) * u[:, 0]) * f
    w = (time_scale[0] + (time_scale[1] - time_scale[0]) * u[:, 1]) * t
    h = h.long().clamp(1, cf)
    w = w.long().clamp(1, ct)
    top = torch.minimum((u[:, 2] * (cf - h + 1)).long(), cf - h)
    left = torch.minimum((u[:, 3] * (ct - w + 1)).long(), ct - w)
    return torch.stack([top, left, h, w], dim=1)


@register_augmentation("audio-rrc")
class AudioRandomResizedCrop(Augmentation):
    """BYOL-A's random resized crop on log-mels: virtual canvas 1 x 1.5, freq/time scales U(0.6, 1.5), bicubic.

    Args:
        freq_scale: range of the crop height as a fraction of the input's mel bands.
        time_scale: range of the crop width as a fraction of the input's frames.
        canvas: the virtual canvas size as multiples of the input's ``(bands, frames)``.
        fill: the canvas value around the pasted log-mel (0 = the mean after pre-normalization).
        generator: optional ``torch.Generator`` (CPU or the input's device).

    Works on ``(B, C, F, T)`` batches (or one ``(C, F, T)`` log-mel); each sample gets its own
    crop, shared by its channels. Output shape = input shape.
    """

    stage = Stage.VIEW
    modality = "audio"

    def __init__(
        self,
        freq_scale: tuple[float, float] = (0.6, 1.5),
        time_scale: tuple[float, float] = (0.6, 1.5),
        canvas: tuple[float, float] = (1.0, 1.5),
        fill: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.freq_scale = _range(freq_scale, "freq_scale")
        self.time_scale = _range(time_scale, "time_scale")
        self.canvas = _range(canvas, "canvas")
        if self.canvas[0] < 1.0:
            raise ValueError(f"canvas must be at least 1 x the input in both axes, got {canvas!r}")
        if isinstance(fill, bool) or not isinstance(fill, (int, float)):
            raise ValueError(f"fill must be a number, got {fill!r}")
        self.fill = float(fill)
        self.generator = generator

    def _draws(self, n: int) -> Tensor:
        device = self.generator.device if self.generator is not None else torch.device("cpu")
        return torch.rand((n, 4), generator=self.generator, device=device, dtype=torch.float64).cpu()

    def forward(self, x: Tensor, index: int = 0) -> Tensor:
        """A random resized crop of every sample of ``x`` (``index``, the view number, is unused)."""
        check_float_tensor(x, "audio-rrc input")
        single = x.ndim == 3
        if single:
            x = x.unsqueeze(0)
        if x.ndim != 4:
            raise ValueError(f"audio-rrc expects log-mels (B, C, F, T) or (C, F, T), got shape {tuple(x.shape)}")
        n, c, f, t = x.shape
        cf, ct = int(f * self.canvas[0]), int(t * self.canvas[1])
        canvas = x.new_full((n, c, cf, ct), self.fill)
        y0, x0 = (cf - f) // 2, (ct - t) // 2
        canvas[:, :, y0 : y0 + f, x0 : x0 + t] = x
        boxes = crop_boxes(self._draws(n), (f, t), (cf, ct), self.freq_scale, self.time_scale).tolist()
        compute = (
            x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        )  # bicubic needs float32+ on CPU
        out = torch.cat(
            [
                F.interpolate(
                    canvas[b : b + 1, :, top : top + h, left : left + w].to(compute),
                    size=(f, t),
                    mode="bicubic",
                    align_corners=True,
                )
                for b, (top, left, h, w) in enumerate(boxes)
            ]
        ).to(x.dtype)
        return out[0] if single else out

    def extra_repr(self) -> str:
        return f"freq_scale={self.freq_scale}, time_scale={self.time_scale}, canvas={self.canvas}, fill={self.fill}"
