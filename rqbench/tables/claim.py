"""One comparison a table makes: :class:`Claim`, row(s) A minus row(s) B on one column, and its expected sign.

A :class:`~rqbench.tables.spec.TableSpec` may carry its claims (``TableSpec.claims``, checked
against its rows and columns); the paper's claims are :data:`rqbench.tables.claims.CLAIMS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Claim:
    """One comparison the paper makes: ``mean(rows a) - mean(rows b)`` on ``column``, expected of sign ``direction``.

    Args:
        table: the table spec's name (``"table3"``).
        id: unique within the table (``"T3-2 MoCo"``; an extra-metric copy adds the metric: ``"T3-2 MoCo kNN"``).
        a, b: row labels of the table spec (measured rows only); a group's per-seed mean is used.
        column: the column label of the table spec whose values are compared.
        direction: the paper's sign of ``A - B``: +1 or -1.
        paper_effect: the paper's ``A - B`` on this column, where the paper prints every number
            involved; ``None`` otherwise (and on the extra metrics, which the paper does not report).
        sentence: the paper's words the claim comes from, quoted; pieces from different places are
            joined by ``" [...] "``.
        on_paper_metric: ``False`` for the copy of a claim on a metric the paper does not report.
        paper_column: the column whose paper numbers give the reference effect (default: ``column``).
    """

    table: str
    id: str
    a: tuple[str, ...]
    b: tuple[str, ...]
    column: str
    direction: int
    paper_effect: float | None
    sentence: str
    on_paper_metric: bool = True
    paper_column: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", (self.a,) if isinstance(self.a, str) else tuple(self.a))
        object.__setattr__(self, "b", (self.b,) if isinstance(self.b, str) else tuple(self.b))
        if not self.paper_column:
            object.__setattr__(self, "paper_column", self.column)
        if self.direction not in (1, -1):
            raise ValueError(f"claim {self.id}: direction must be +1 or -1, got {self.direction!r}")
        if not self.a or not self.b or set(self.a) & set(self.b):
            raise ValueError(f"claim {self.id}: needs rows on both sides, none on both: {self.a} vs {self.b}")

    @property
    def contrast(self) -> str:
        """``[A] - [B]``, or ``mean[A1, A2] - mean[B1, B2]`` for groups."""

        def side(rows: tuple[str, ...]) -> str:
            return f"[{rows[0]}]" if len(rows) == 1 else "mean[" + ", ".join(rows) + "]"

        return f"{side(self.a)} - {side(self.b)}"

    @property
    def rows(self) -> tuple[str, ...]:
        """Every row the claim reads (``a`` then ``b``)."""
        return self.a + self.b

    def weights(self) -> dict[str, float]:
        """The contrast's coefficients per row: ``1/|a|`` on ``a``, ``-1/|b|`` on ``b`` (they sum to 0)."""
        return {**{r: 1.0 / len(self.a) for r in self.a}, **{r: -1.0 / len(self.b) for r in self.b}}
