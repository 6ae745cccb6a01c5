"""The picture grid: a valid PNG of the documented size, originals on top, values clipped."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

from modalities.images.show import view_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pixel(image, row: int, col: int, label_px: int = 150, cell_px: int = 100) -> float:
    """Mean brightness at the centre of grid cell (row, col) of an RGBA array read back."""
    y, x = row * cell_px + cell_px // 2, label_px + col * cell_px + cell_px // 2
    return float(image[y - 5 : y + 5, x - 5 : x + 5, :3].mean())


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_is_a_png_of_the_expected_size(tmp_path: Path, channels: int) -> None:
    x = torch.rand(4, channels, 28, 28)
    rows = [("rrc", torch.rand(4, channels, 28, 28)), ("rq(bins=8)", torch.rand(4, channels, 16, 16))]
    out = view_grid(x, rows, tmp_path / "sub" / "grid.png")
    assert out == tmp_path / "sub" / "grid.png" and out.is_file()
    assert png_size(out) == (150 + 4 * 100, 3 * 100)
    assert [p.name for p in out.parent.iterdir()] == ["grid.png"]  # no temporary file left
    big = view_grid(x, rows[:1], tmp_path / "big.png", dpi=50, cell_inches=2.0, label_inches=1.0)
    assert png_size(big) == (50 + 4 * 100, 2 * 100)


def test_originals_on_top_and_values_clipped(tmp_path: Path) -> None:
    import matplotlib.image

    black = torch.full((2, 1, 8, 8), -3.0)  # clipped to 0
    white = torch.full((2, 3, 8, 8), 5.0)  # clipped to 1
    half = torch.full((2, 1, 8, 8), 0.5)
    path = view_grid(black, [("white", white), ("gray", half)], tmp_path / "grid.png")
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (300, 350)
    for col in (0, 1):
        assert pixel(image, 0, col) < 0.05
        assert pixel(image, 1, col) > 0.95
        assert 0.4 < pixel(image, 2, col) < 0.6
    assert float(image[:, :150, :3].min()) < 0.5  # the labels are drawn in the left margin


def test_rows_must_match_the_originals(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has 3 images, the originals 2"):
        view_grid(torch.rand(2, 1, 8, 8), [("rrc", torch.rand(3, 1, 8, 8))], tmp_path / "g.png")
    with pytest.raises(ValueError, match="1 or 3"):
        view_grid(torch.rand(2, 2, 8, 8), [], tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
