"""Picture grids of augmented images, like the paper's Figures 2, 4 and 6 (Wu et al. 2023)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from torch import Tensor

from rqbench.io import write_atomic

__all__ = ["view_grid"]


def _as_images(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 3:  # (N, H, W): gray
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must be images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    return x.detach().float().cpu().clamp(0.0, 1.0)


def view_grid(
    images: Tensor,
    rows: list[tuple[str, Tensor]],
    path: str | os.PathLike[str],
    *,
    original_label: str = "original",
    cell_inches: float = 1.0,
    label_inches: float | None = None,
    dpi: int = 100,
) -> Path:
    """Write a PNG grid: the original ``images`` in the first row, one row per ``(label, augmented)``.

    Column ``j`` shows sample ``j`` in every row; each row's label is written on its left.
    Images ``(N, C, H, W)`` with ``C`` = 1 (drawn in gray) or 3 (RGB), or ``(N, H, W)``,
    values clipped to [0, 1]; rows may have their own ``H, W`` (e.g. a smaller crop) but
    must have ``N`` samples. ``label_inches`` defaults to room for the longest label (at
    least 1.5). The PNG is ``round((label_inches + N * cell_inches) * dpi)``
    pixels wide and ``round((1 + len(rows)) * cell_inches * dpi)`` high, written atomically
    (:func:`rqbench.io.write_atomic`) with matplotlib's Agg backend (no pyplot state).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    first = _as_images(images, "images")
    n = first.shape[0]
    if n == 0:
        raise ValueError("images must hold at least one image")
    grid = [(original_label, first)]
    for i, row in enumerate(rows):
        if not (isinstance(row, tuple) and len(row) == 2 and isinstance(row[0], str)):
            raise TypeError(f"rows[{i}] must be a (label, images) pair, got {type(row).__name__}")
        label, x = row
        x = _as_images(x, f"row {label!r}")
        if x.shape[0] != n:
            raise ValueError(f"row {label!r} has {x.shape[0]} images, the originals {n}")
        grid.append((label, x))

    if label_inches is None:
        label_inches = max(1.5, 0.09 * max(len(label) for label, _ in grid) + 0.2)
    width, height = label_inches + n * cell_inches, len(grid) * cell_inches
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    left = label_inches / width
    pad = 0.03 * cell_inches  # a thin gap between cells
    for r, (label, x) in enumerate(grid):
        for j in range(n):
            x0, y0 = left + j * cell_inches / width, 1 - (r + 1) / len(grid)
            ax = fig.add_axes(
                (x0 + pad / width, y0 + pad / height, (cell_inches - 2 * pad) / width, (cell_inches - 2 * pad) / height)
            )
            img = x[j]
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            else:
                ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        fig.text(left - 0.1 / width, 1 - (r + 0.5) / len(grid), label, ha="right", va="center", fontsize=10)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return write_atomic(path, buffer.getvalue())
