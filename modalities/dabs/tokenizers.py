"""Per-domain input embeddings: raw inputs -> token embeddings ``(B, L, D)`` (DABS's embedding modules).

Facts from DABS (Tamkin et al. 2021, alextamkin/dabs ``src/models/embedding_modules.py``): images
are cut into non-overlapping patches, row by row, each flattened as ``(p1, p2, c)`` (channel
fastest) and projected by one Linear; 1-D series are cut into segments of ``s`` time steps, each
flattened as ``(step, channel)`` (channel fastest) and projected; token ids go through an
``Embedding``. A paired input (image + caption) is one concatenated token sequence.

The patching is a pure function (:func:`patchify`, :func:`segments`); the modules own the weights.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn


def patchify(x: Tensor, patch: int) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, (H/p)(W/p), p*p*C)``: patches row-major, each flattened ``(p1, p2, c)``."""
    if x.ndim != 4:
        raise ValueError(f"patchify needs (B, C, H, W) images, got shape {tuple(x.shape)}")
    b, c, h, w = x.shape
    if h % patch or w % patch:
        raise ValueError(f"image size {h}x{w} is not divisible by the patch size {patch}")
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


def segments(x: Tensor, size: int) -> Tensor:
    """``(B, T, C)`` -> ``(B, T/s, s*C)``: consecutive segments of ``s`` steps, each flattened ``(step, c)``."""
    if x.ndim != 3:
        raise ValueError(f"segments needs (B, time, channels) series, got shape {tuple(x.shape)}")
    b, t, c = x.shape
    if t % size:
        raise ValueError(f"series length {t} is not divisible by the segment size {size}")
    return x.reshape(b, t // size, size * c)


class PatchEmbedding(nn.Module):
    """Images ``(B, C, H, W)`` (or spectrograms ``(B, 1, F, T)``) -> patch tokens ``(B, L, D)``.

    Args:
        channels, height, width: the input's shape.
        patch: patch side.
        dim: embedding width ``D``.
    """

    def __init__(self, channels: int, height: int, width: int, patch: int, dim: int) -> None:
        super().__init__()
        if height % patch or width % patch:
            raise ValueError(f"input {height}x{width} is not divisible by the patch size {patch}")
        self.shape = (channels, height, width)
        self.patch = patch
        self.length = (height // patch) * (width // patch)
        self.proj = nn.Linear(channels * patch * patch, dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], *self.shape)
        return self.proj(patchify(x.float(), self.patch))


class SegmentEmbedding(nn.Module):
    """Multichannel series ``(B, T, C)`` -> segment tokens ``(B, T/s, D)`` (sensors, medical signals).

    Args:
        steps, channels: the input's shape (time steps, channels).
        segment: time steps per token (DABS: 5).
        dim: embedding width ``D``.
    """

    def __init__(self, steps: int, channels: int, segment: int, dim: int) -> None:
        super().__init__()
        if steps % segment:
            raise ValueError(f"series length {steps} is not divisible by the segment size {segment}")
        self.shape = (steps, channels)
        self.segment = segment
        self.length = steps // segment
        self.proj = nn.Linear(segment * channels, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(segments(x.reshape(x.shape[0], *self.shape).float(), self.segment))


class TokenEmbedding(nn.Module):
    """Token ids ``(B, L)`` (integers, or floats holding integers) -> ``(B, L, D)``.

    Args:
        vocab_size: number of token ids.
        length: sequence length ``L``.
        dim: embedding width ``D``.
    """

    def __init__(self, vocab_size: int, length: int, dim: int) -> None:
        super().__init__()
        self.length = length
        self.table = nn.Embedding(vocab_size, dim)

    def forward(self, ids: Tensor) -> Tensor:
        ids = ids.reshape(ids.shape[0], self.length)
        return self.table(ids.round().long() if ids.is_floating_point() else ids.long())


class ConcatEmbedding(nn.Module):
    """Several inputs packed side by side in one flat row -> their token sequences concatenated.

    A sample is one float vector ``[part_0 (n_0 values), part_1 (n_1 values), ...]`` (so the
    trainer can stack samples); part ``i`` is reshaped by its module (``PatchEmbedding`` for the
    image, ``TokenEmbedding`` for the caption ids) and the token sequences are joined along ``L``.

    Args:
        parts: ``(values per sample, embedding module)`` pairs, in packing order.
    """

    def __init__(self, parts: list[tuple[int, nn.Module]]) -> None:
        super().__init__()
        self.sizes = [n for n, _ in parts]
        self.parts = nn.ModuleList(m for _, m in parts)
        self.length = sum(int(cast(int, m.length)) for m in self.parts)

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != sum(self.sizes):
            raise ValueError(
                f"a packed sample has {x.shape[1]} values, "
                f"expected {sum(self.sizes)} ({' + '.join(map(str, self.sizes))})"
            )
        chunks = torch.split(x, self.sizes, dim=1)
        return torch.cat([m(c) for m, c in zip(self.parts, chunks)], dim=1)


__all__ = ["ConcatEmbedding", "PatchEmbedding", "SegmentEmbedding", "TokenEmbedding", "patchify", "segments"]
