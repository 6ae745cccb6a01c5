"""The views of one training step: what the augmentation pipeline makes and every method takes."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from rqbench.augment.base import MixInfo


@dataclass(frozen=True)
class Views:
    """``n`` views of one batch.

    Args:
        queries: the views for the online branch, mixed when the spec has a mixing augmentation.
        keys: the same views before mixing (the very same tensors when nothing mixes).
        mix: per view, what the mixing augmentation did (``None`` when nothing mixed).
        indices: the dataset index of every sample of the batch, ``(B,)`` int64 (for methods
            with per-sample state such as MID-Net's memory banks), or ``None``.
    """

    queries: tuple[Tensor, ...]
    keys: tuple[Tensor, ...]
    mix: tuple[MixInfo | None, ...]
    indices: Tensor | None = None

    def __post_init__(self) -> None:
        if not self.queries or not len(self.queries) == len(self.keys) == len(self.mix):
            raise ValueError(
                f"Views needs as many queries, keys and mix entries (at least one), "
                f"got {len(self.queries)}, {len(self.keys)}, {len(self.mix)}"
            )

    @classmethod
    def of(cls, *views: Tensor, indices: Tensor | None = None) -> Views:
        """Clean views: each is its own query and key, nothing mixed."""
        return cls(tuple(views), tuple(views), (None,) * len(views), indices)

    def __len__(self) -> int:
        return len(self.queries)


__all__ = ["Views"]
