"""Pictures of point clouds before and after augmentation (the paper's Figure 2, right)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from torch import Tensor

from rqbench.io import write_atomic


def cloud_grid(
    clouds: Tensor,
    rows: list[tuple[str, Tensor]],
    path: str | os.PathLike[str],
    *,
    cell_inches: float = 2.2,
    dpi: int = 100,
) -> Path:
    """Write a PNG of 3-D scatter plots: the original ``clouds`` ``(n, N, >= 3)`` in the first row and
    one row per ``(label, augmented clouds)``; column ``j`` is cloud ``j``. Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = [("original", clouds), *list(rows)]
    n = clouds.shape[0]
    for label, x in grid:
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[0] != n or x.shape[-1] < 3:
            raise ValueError(
                f"row {label!r} must hold {n} clouds (n, points, >= 3), "
                f"got {tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}"
            )
    fig = Figure(figsize=(n * cell_inches, len(grid) * cell_inches), dpi=dpi)
    FigureCanvasAgg(fig)
    for r, (label, x) in enumerate(grid):
        for j in range(n):
            ax = fig.add_subplot(len(grid), n, r * n + j + 1, projection="3d")
            p = x[j, :, :3].detach().float().cpu().numpy()
            ax.scatter(p[:, 0], p[:, 2], p[:, 1], s=1.5, c=p[:, 1], cmap="viridis", depthshade=False)
            ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
            ax.set_axis_off()
            if j == 0:
                ax.set_title(label, fontsize=8, loc="left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return write_atomic(path, buffer.getvalue())


__all__ = ["cloud_grid"]
