"""The paper's comparative claims as data, and the verdict each gets from a rendered table.

A :class:`Claim` is one comparison the paper makes in one table: row(s) A minus row(s) B (single
rows, or the mean of a group minus the mean of another) on one column of the table spec, the
paper's direction (+1: A above B) and effect (from :mod:`~rqbench.tables.paper_numbers`, where
the paper prints every number involved), and the sentence of the paper it comes from. Row and
column labels are those of the :class:`~rqbench.tables.spec.TableSpec` s in
:mod:`~rqbench.tables.paper_tables`; paper-only rows (no runs) are never in a claim.

:data:`CLAIMS` holds the claims of Tables 1, 3, 4, 6, 7, 9, 10 and Figure 5 on the paper's own
metric, plus the same contrasts on the image tables' kNN and 1 %-label columns
(``on_paper_metric=False``; their ``paper_effect`` is ``None``, ``paper_column`` names the column
whose paper numbers their reference effect is rescaled from). A cell where the paper's own numbers
do not go the way its sentence says (Table 6: 5 % linear, -0.2, and 100 % fine-tuned, 0.0; Table
7: I.mIoU 100 % fine-tuned, 0.0; Table 9: SPCV2, -0.1) is not a claim.

:func:`evaluate_claims` turns a rendered table's per-seed values
(:attr:`~rqbench.tables.render.RenderedTable.per_seed`) into one :class:`ClaimResult` per claim
with the statistics and verdict rules of :mod:`rqbench.stats`; :func:`pretraining_gains` gives
each table's gain over its random-init row. Example::

    from rqbench.tables import TABLES, render
    from rqbench.tables.claims import evaluate_claims, claims_markdown, pretraining_gains
    spec = TABLES.get("table1")
    rendered = render(spec, results, "quick")
    found = evaluate_claims(spec, rendered.per_seed)
    print(claims_markdown(spec, found, pretraining_gains(spec, rendered.per_seed)))
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rqbench import stats
from rqbench.tables.claim import Claim as Claim  # re-exported: claims are defined there
from rqbench.tables.paper_numbers import paper_value
from rqbench.tables.paper_tables import FIGURE5, TABLE1, TABLE3, TABLE4, TABLE6, TABLE7, TABLE9, TABLE10
from rqbench.tables.spec import TableSpec


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def paper_effect(spec: TableSpec, a: Sequence[str], b: Sequence[str], column: str) -> float | None:
    """The paper's ``mean(a) - mean(b)`` on ``column`` of ``spec`` (rounded to 6 decimals); ``None`` unless
    the column and every row have a paper label and the paper prints a number in each cell."""
    col = next(c for c in spec.columns if c.label == column)
    rows = {r.label: r for r in spec.rows}
    if spec.paper_table is None or col.paper_column is None:
        return None
    values: list[list[float]] = [[], []]
    for side, labels in enumerate((a, b)):
        for label in labels:
            paper_row = rows[label].paper_row
            got = None if paper_row is None else _number(paper_value(spec.paper_table, paper_row, col.paper_column))
            if got is None:
                return None
            values[side].append(got)
    return round(sum(values[0]) / len(values[0]) - sum(values[1]) / len(values[1]), 6)


def _claim(
    spec: TableSpec, id: str, a: str | tuple[str, ...], b: str | tuple[str, ...], column: str, sentence: str,
    direction: int = 1,
) -> Claim:  # fmt: skip
    a_rows = (a,) if isinstance(a, str) else a
    b_rows = (b,) if isinstance(b, str) else b
    return Claim(spec.name, id, a_rows, b_rows, column, direction, paper_effect(spec, a_rows, b_rows, column), sentence)


_EXTRA_METRICS = (("kNN top1", "kNN"), ("1% linear top1", "1%"))
"""The image tables' extra columns (label suffix replacing ``linear top1``) and the id suffix of a copy."""


def _with_extras(spec: TableSpec, claims: Iterable[Claim]) -> tuple[Claim, ...]:
    """``claims``, then each one's copy on the image tables' kNN and 1 %-label columns."""
    paper = tuple(claims)
    labels = {c.label for c in spec.columns}
    extras = []
    for suffix, tag in _EXTRA_METRICS:
        for claim in paper:
            column = claim.column.removesuffix("linear top1") + suffix
            if column in labels:
                extras.append(
                    replace(claim, id=f"{claim.id} {tag}", column=column, paper_effect=None, on_paper_metric=False,
                            paper_column=claim.column)
                )  # fmt: skip
    return paper + tuple(extras)


# ---------------------------------------------------------------- the paper's sentences, quoted
_S_UNIFORM = "Using a fixed uniform quantizer improves the performance mildly to 54.8%."
_S_VALUES = (
    "Intuitively, random reproduction values lead to bias in the quantization error, making them no longer "
    "zero-mean and bringing a stronger augmentation effect."
)
_S_BINS = (
    "Randomizing the locations and sizes of bins allows for uneven masking and creates more effective pretext "
    "tasks. It improves the performance significantly to 66.0%."
)
_S_BOTH = (
    "It is found to benefit representation learning, yielding an increase of 1.9 points upon randomizing the "
    "bins in Table 1."
)
_S_RANDOMIZATION = (
    "We design a randomization technique by varying the quantization value and the quantization bins, to enhance "
    "data augmentation."
)
_S_SIMILAR = "The results using MoCo-v3 and BYOL training objectives are similar."
_S_STANDALONE = (
    "As a standalone augmentation, randomized quantization obtains an accuracy of 42.9% with MoCo-v3, which "
    "outperforms DACL and i-Mix by a large margin."
)
_S_RRC_MARGIN = "In conjunction with random resized crop, a 10% margin is maintained."
_S_BEST = "Randomized quantization performs the best against Mixup-based augmentations."
_S_CENTER = "Center crop amounts to no augmentation, and random resized crop is frequently used in vision applications."
_S_CJ = (
    "We find that randomized quantization is much stronger than color jittering, which is heavily designed with "
    "prior knowledge such as brightness, contrast, and saturation for pixels."
)
_S_FULL = (
    "Our augmentation is 1% weaker than the full augmentation, which includes random resized crop, color "
    "jittering, grayscaling, Gaussian blurring and solarization successively."
)
_S_PEAK = "We vary the number of bins and find strong performance with 5-10 bins, peaking at 8 bins."
_S_FEW_MANY = (
    "It can be observed that too much information is withheld when using too few bins, and too many bins "
    "withholds too little information."
)
_S_SINGLE = "The extreme case of using only a single bin is equivalent to dropping the entire channel."
_S_T6 = (
    "With our augmentation, we improve the classification accuracy over the baseline MID-FC [71] substantially, "
    "especially when the training data is limited as shown in Table 6."
)
_S_T6_1 = (
    "For example, with 1% of the training data, we improve the classification accuracy by 5.2 and 4.0 points on "
    "linear probing and finetuning, respectively."
)
_S_T7 = "Our results are consistently better than the baselines across different ratios of training data."
_S_T7_1 = (
    "For example, with 1% of the training data, our method improves the segmentation performance by 4.4 and 1.9 "
    "IoU on linear probing and finetuning, respectively."
)
_S_T9 = (
    "Compared against BYOL-A with the Mixup augmentation, our randomized quantization outperforms it in four out "
    "of the six tasks."
)
_S_T9_VC1 = (
    "Our approach is particularly stronger by a margin of 5.6% on the VoxCeleb1 dataset, which is the hardest "
    "classification task with 1211 classes among all six tasks."
)
_S_T9_AVG = "On average, the proposed augmentation surpasses the current state-the-of-art BYOL-A by a margin of 1.8%."
_S_T10 = "Our model outperforms the baseline e-Mix on all modalities."
_S_T10_BIG = (
    "The improvements on natural images, speech, and sensors are larger than 3%, while the improvements on text "
    "and chest x-rays are relatively smaller, less than 1%."
)
_S_T10_HURT = "Both e-Mix and our pretraining seem to hurt the representation quality for captioned images."


def _join(*pieces: str) -> str:
    return " [...] ".join(pieces)


# ---------------------------------------------------------------- Table 1
_T1 = TABLE1
_T1_LIN = "linear top1"
_T1_CLAIMS = _with_extras(
    _T1,
    (
        _claim(_T1, "T1-1", "+ RQ, fixed uniform", "baseline (RRC)", _T1_LIN, _S_UNIFORM),
        _claim(_T1, "T1-2", "+ RQ, random values", "+ RQ, fixed uniform", _T1_LIN, _S_VALUES),
        _claim(_T1, "T1-3", "+ RQ, random bins", "+ RQ, fixed uniform", _T1_LIN, _S_BINS),
        _claim(_T1, "T1-4", "+ RQ, random bins + values", "+ RQ, random bins", _T1_LIN, _S_BOTH),
        _claim(_T1, "T1-5", "+ RQ, random bins + values", "+ RQ, fixed uniform", _T1_LIN, _S_RANDOMIZATION),
    ),
)


# ---------------------------------------------------------------- Table 3
def _t3(method: str, tag: str) -> tuple[Claim, ...]:
    col = f"{method} linear top1"
    similar = (lambda s: s) if method == "MoCo-v3" else (lambda s: _join(s, _S_SIMILAR))
    mixup = ("CR + DACL", "CR + i-Mix", "RRC + DACL", "RRC + i-Mix")
    return (
        _claim(TABLE3, f"T3-1 {tag}", "CR + RQ", "CR", col, similar(_join(_S_CENTER, _S_STANDALONE))),
        _claim(TABLE3, f"T3-2 {tag}", "CR + RQ", "CR + DACL", col, similar(_S_STANDALONE)),
        _claim(TABLE3, f"T3-3 {tag}", "CR + RQ", "CR + i-Mix", col, similar(_S_STANDALONE)),
        _claim(TABLE3, f"T3-4 {tag}", "RRC + RQ", "RRC + DACL", col, similar(_S_RRC_MARGIN)),
        _claim(TABLE3, f"T3-5 {tag}", "RRC + RQ", "RRC + i-Mix", col, similar(_S_RRC_MARGIN)),
        _claim(TABLE3, f"T3-6 {tag}", ("CR + RQ", "RRC + RQ"), mixup, col, similar(_S_BEST)),
    )


_T3_CLAIMS = _with_extras(TABLE3, _t3("MoCo-v3", "MoCo") + _t3("BYOL", "BYOL"))


# ---------------------------------------------------------------- Table 4
def _t4(method: str, tag: str) -> tuple[Claim, ...]:
    col = f"{method} linear top1"
    return (
        _claim(TABLE4, f"T4-1 {tag}", "RRC + RQ", "RRC + CJ", col, _S_CJ),
        _claim(TABLE4, f"T4-2 {tag}", "RRC + RQ", "Full", col, _S_FULL, direction=-1),
    )


_T4_CLAIMS = _with_extras(TABLE4, _t4("MoCo-v3", "MoCo") + _t4("BYOL", "BYOL"))

# ---------------------------------------------------------------- Figure 5
_F5 = FIGURE5
_F5_MID = ("bins=5", "bins=8", "bins=10")
_F5_CLAIMS = _with_extras(
    _F5,
    (
        _claim(_F5, "F5-1", "bins=8", "bins=5", _T1_LIN, _S_PEAK),
        _claim(_F5, "F5-2", "bins=8", "bins=10", _T1_LIN, _S_PEAK),
        _claim(_F5, "F5-3", _F5_MID, ("bins=1", "bins=2", "bins=3"), _T1_LIN, _join(_S_PEAK, _S_FEW_MANY)),
        _claim(_F5, "F5-4", _F5_MID, ("bins=15", "bins=20", "bins=30"), _T1_LIN, _join(_S_PEAK, _S_FEW_MANY)),
        _claim(_F5, "F5-5", "bins=8", "bins=1", _T1_LIN, _join(_S_SINGLE, _S_PEAK)),
    ),
)

# ---------------------------------------------------------------- Table 6 (the cells where the paper's numbers agree)
_T6_CLAIMS = tuple(
    _claim(TABLE6, f"T6 {kind} {frac}", f"MID-Net + RQ ({kind})", f"MID-Net ({kind})", frac,
           _join(_S_T6, _S_T6_1) if frac == "1%" else _S_T6)
    for kind, fracs in (("lin", ("1%", "2%", "10%", "20%", "100%")), ("ft", ("1%", "2%", "5%", "10%", "20%")))
    for frac in fracs
)  # fmt: skip

# ---------------------------------------------------------------- Table 7
_T7_CLAIMS = tuple(
    _claim(TABLE7, f"T7 {kind} {col}", f"MID-Net + RQ ({kind})", f"MID-Net ({kind})", col,
           _join(_S_T7, _S_T7_1) if col == "C.mIoU 1%" else _S_T7)
    for kind in ("lin", "ft")
    for col in ("C.mIoU 1%", "C.mIoU 5%", "C.mIoU 100%", "I.mIoU 1%", "I.mIoU 5%", "I.mIoU 100%")
    if not (kind == "ft" and col == "I.mIoU 100%")
)  # fmt: skip

# ---------------------------------------------------------------- Table 9
_T9_RQ, _T9_BYOLA = "RRC + RQ (bins=5)", "BYOL-A (RRC + mixup)"
_T9_CLAIMS = (
    _claim(TABLE9, "T9 NS", _T9_RQ, _T9_BYOLA, "notes (NS)", _S_T9),
    _claim(TABLE9, "T9 VC1", _T9_RQ, _T9_BYOLA, "speakers (VC1)", _join(_S_T9, _S_T9_VC1)),
    _claim(TABLE9, "T9 VF", _T9_RQ, _T9_BYOLA, "langid (VF)", _S_T9),
    _claim(TABLE9, "T9 SPCV2/12", _T9_RQ, _T9_BYOLA, "words12 (SPCV2/12)", _S_T9),
    _claim(TABLE9, "T9 Average", _T9_RQ, _T9_BYOLA, "Average", _S_T9_AVG),
)

# ---------------------------------------------------------------- Table 10
_T10_CLAIMS = (
    *(
        _claim(TABLE10, f"T10 {col}", "RQ", "e-Mix", col,
               _join(_S_T10, _S_T10_BIG) if col in ("Natural Images", "Speech", "Sensors", "Text", "Chest x-rays")
               else _S_T10)
        for col in ("Natural Images", "Text", "Speech", "Sensors", "Chest x-rays", "Images & Text", "Average")
    ),
    _claim(TABLE10, "T10 e-Mix hurts Images & Text", "e-Mix", "Scratch", "Images & Text", _S_T10_HURT, direction=-1),
    _claim(TABLE10, "T10 RQ hurts Images & Text", "RQ", "Scratch", "Images & Text", _S_T10_HURT, direction=-1),
)  # fmt: skip

CLAIMS: Mapping[str, tuple[Claim, ...]] = MappingProxyType(
    {
        "table1": _T1_CLAIMS,
        "table3": _T3_CLAIMS,
        "table4": _T4_CLAIMS,
        "figure5": _F5_CLAIMS,
        "table6": _T6_CLAIMS,
        "table7": _T7_CLAIMS,
        "table9": _T9_CLAIMS,
        "table10": _T10_CLAIMS,
    }
)
"""Every table's claims by table name, paper-metric claims first, in the paper's order."""


def claims_for(table: TableSpec | str) -> tuple[Claim, ...]:
    """The claims of ``table``: those the spec carries (a YAML table's, ``rqbench compare``'s), else the
    paper's for its name in :data:`CLAIMS` (``()`` for a table without claims)."""
    if isinstance(table, TableSpec):
        return table.claims or CLAIMS.get(table.name, ())
    return CLAIMS.get(table, ())


# ---------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class ClaimResult:
    """A claim's statistics and verdict (rules: :mod:`rqbench.stats`).

    ``mean`` is the mean over the common seeds of the per-seed contrast ``mean(A) - mean(B)``; ``se``
    and ``df`` are paired or pooled (``error`` says which); ``low``/``high`` the ``1 - alpha`` t interval;
    ``p`` two-sided, ``p_adjusted`` by Holm over the ``family_size`` claims of its family;
    ``reference_effect`` the paper's effect rescaled to our metric (``scale`` times it), ``margin``
    the equivalence margin; ``sd`` the per-seed sd of the contrast, ``seeds_needed`` for 80 % power.
    """

    claim: Claim
    seeds: tuple[int, ...]
    mean: float
    se: float
    df: float
    error: str
    low: float
    high: float
    p: float
    p_adjusted: float
    family_size: int
    scale: float
    reference_effect: float
    margin: float
    sd: float
    seeds_needed: float
    verdict: str
    alpha: float = stats.ALPHA

    @property
    def n_seeds(self) -> int:
        """The number of seeds common to the claim's rows."""
        return len(self.seeds)

    def record(self) -> dict[str, Any]:
        """One flat record (CSV / JSON): NaN becomes ``None``."""
        c = self.claim
        out: dict[str, Any] = {
            "table": c.table,
            "id": c.id,
            "contrast": c.contrast,
            "metric": c.column,
            "on_paper_metric": c.on_paper_metric,
            "direction": c.direction,
            "n_seeds": self.n_seeds,
            "seeds": " ".join(str(s) for s in self.seeds),
            "mean_diff": self.mean,
            "se": self.se,
            "df": self.df,
            "error": self.error,
            "ci_low": self.low,
            "ci_high": self.high,
            "p": self.p,
            "p_holm": self.p_adjusted,
            "family_size": self.family_size,
            "paper_effect": c.paper_effect,
            "scale": self.scale,
            "reference_effect": self.reference_effect,
            "margin": self.margin,
            "sd": self.sd,
            "seeds_needed": self.seeds_needed,
            "verdict": self.verdict,
            "alpha": self.alpha,
            "sentence": c.sentence,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class GainResult:
    """Pretraining gain on one column: the per-seed mean of ``rows`` (pretrained) minus ``scratch``, paired."""

    table: str
    scratch: str
    rows: tuple[str, ...]
    column: str
    seeds: tuple[int, ...]
    mean: float
    se: float
    df: float
    low: float
    high: float
    p: float

    def record(self) -> dict[str, Any]:
        """One flat record (CSV / JSON): NaN becomes ``None``."""
        out: dict[str, Any] = {
            "table": self.table,
            "scratch": self.scratch,
            "rows": " | ".join(self.rows),
            "column": self.column,
            "n_seeds": len(self.seeds),
            "gain": self.mean,
            "se": self.se,
            "df": self.df,
            "ci_low": self.low,
            "ci_high": self.high,
            "p": self.p,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


SeedValues = dict[tuple[str, str], dict[int, float]]
"""``(row, column) -> {seed: value}``."""


def seed_values(per_seed: pd.DataFrame) -> SeedValues:
    """The per-seed values of a rendered table (columns ``row, column, seed, value``) by cell."""
    out: SeedValues = {}
    for row, column, seed, value in per_seed[["row", "column", "seed", "value"]].itertuples(index=False):
        if value is not None and math.isfinite(float(value)):
            out.setdefault((str(row), str(column)), {})[int(seed)] = float(value)
    return out


def _reference(spec: TableSpec, claim: Claim, values: SeedValues) -> tuple[float, float]:
    """``(scale, reference effect)``: the paper's effect on ``claim.paper_column`` rescaled to ``claim.column``
    by :func:`rqbench.stats.scale_ratio` over the measured rows with a paper number (NaN when not possible)."""
    effect = paper_effect(spec, claim.a, claim.b, claim.paper_column)
    if effect is None or spec.paper_table is None:
        return math.nan, math.nan
    col = next(c for c in spec.columns if c.label == claim.paper_column)
    ours, paper = [], []
    for row in spec.rows:
        got = values.get((row.label, claim.column), {})
        if not row.has_runs or row.paper_row is None or col.paper_column is None or not got:
            continue
        number = _number(paper_value(spec.paper_table, row.paper_row, col.paper_column))
        if number is not None:
            ours.append(float(np.mean(list(got.values()))))
            paper.append(number)
    scale = stats.scale_ratio(ours, paper)
    return scale, scale * effect


def evaluate_claims(
    spec: TableSpec, per_seed: pd.DataFrame, claims: Sequence[Claim] | None = None, *, alpha: float = stats.ALPHA
) -> list[ClaimResult]:
    """One :class:`ClaimResult` per claim of ``spec`` (default: :func:`claims_for` it).

    ``per_seed`` is :attr:`RenderedTable.per_seed <rqbench.tables.render.RenderedTable.per_seed>`
    (``row, column, seed, value``). Per claim: the paired differences over the seeds common to its
    rows; the pooled block error instead of the paired one when :mod:`rqbench.stats`'s rule allows
    (at least ``POOL_MIN_ROWS`` pretrained rows measured on those seeds in that column, only
    pretrained rows in the claim, paired df below ``POOL_BELOW_DF``); a 95 % t interval; Holm within
    the table, the paper-metric claims and the extra-metric claims as two families; the verdict.
    ``alpha`` is the level of the tests and ``1 - alpha`` the intervals' coverage: 0.05, or the nominal
    level of a group-sequential design (:mod:`rqbench.sequential`) when the table was seeded until decided.
    """
    chosen = claims_for(spec) if claims is None else tuple(claims)
    rows = {r.label: r for r in spec.rows}
    columns = {c.label for c in spec.columns}
    for claim in chosen:
        unknown = [r for r in claim.rows if r not in rows or not rows[r].has_runs]
        if unknown or claim.column not in columns or claim.paper_column not in columns:
            raise ValueError(f"claim {claim.id}: rows {unknown} or column {claim.column!r} not measured in {spec.name}")
    values = seed_values(per_seed)
    pretrained = [r.label for r in spec.rows if r.pretrain and r.has_runs]
    found: list[dict[str, Any]] = []
    for claim in chosen:
        series = [values.get((r, claim.column), {}) for r in claim.rows]
        seeds, d = stats.paired_differences(series[: len(claim.a)], series[len(claim.a) :])
        n = len(seeds)
        mean, se, df = (float(x) for x in stats.mean_se(d))
        sd = se * math.sqrt(n) if n else math.nan
        error = "paired"
        if all(r in pretrained for r in claim.rows):
            pool = [r for r in pretrained if all(s in values.get((r, claim.column), {}) for s in seeds)]
            if stats.use_pooled(len(pool), n):
                y = np.array([[values[(r, claim.column)][s] for s in seeds] for r in pool])
                ms_arr, df_arr = stats.rcbd_residual_ms(y)
                ms, weights = float(ms_arr), claim.weights()
                w = np.array([weights.get(r, 0.0) for r in pool])
                se, df = float(stats.contrast_se(ms, w, n)), float(df_arr)
                sd = math.sqrt(ms * float((w**2).sum()))
                error = f"pooled ({len(pool)} rows)"
        low, high = (float(x) for x in stats.t_interval(mean, se, df, 1.0 - alpha))
        scale, reference = _reference(spec, claim, values)
        found.append(
            {
                "claim": claim, "seeds": tuple(seeds), "mean": mean, "se": se, "df": df, "error": error,
                "low": low, "high": high, "p": float(stats.t_pvalue(mean, se, df)) if n >= 2 else math.nan,
                "scale": scale, "reference_effect": reference,
                "margin": stats.MARGIN_FRACTION * abs(reference), "sd": sd,
                "seeds_needed": float(stats.seeds_for_power(sd, reference, alpha)),
                "alpha": alpha,
            }
        )  # fmt: skip
    for on_paper in (True, False):
        family = [f for f in found if f["claim"].on_paper_metric is on_paper]
        adjusted = stats.holm([f["p"] for f in family]) if family else np.array([])
        size = sum(math.isfinite(f["p"]) for f in family)
        for f, p_adj in zip(family, adjusted):
            f["p_adjusted"], f["family_size"] = float(p_adj), size
    results = []
    for f in found:
        c: Claim = f["claim"]
        f["verdict"] = stats.verdict(
            f["mean"], f["low"], f["high"], f["p_adjusted"], c.direction, f["reference_effect"],
            f["seeds_needed"], len(f["seeds"]), alpha=alpha,
        )  # fmt: skip
        results.append(ClaimResult(**f))
    return results


def pretraining_gains(spec: TableSpec, per_seed: pd.DataFrame) -> list[GainResult]:
    """Each random-init row's gain: per column, the per-seed mean of the measured pretrained rows evaluated
    the same way (same row ``protocol``) minus the random-init row, over their common seeds; paired t
    interval (95 %). Nothing for a table without a random-init row."""
    values = seed_values(per_seed)
    out = []
    for scratch in (r for r in spec.rows if not r.pretrain and r.has_runs):
        group = [r.label for r in spec.rows if r.pretrain and r.has_runs and r.protocol == scratch.protocol]
        for col in spec.columns:
            rows = [r for r in group if values.get((r, col.label))]
            base = values.get((scratch.label, col.label), {})
            if not rows or not base:
                continue
            seeds, d = stats.paired_differences([values[(r, col.label)] for r in rows], [base])
            mean, se, df = (float(x) for x in stats.mean_se(d))
            low, high = (float(x) for x in stats.t_interval(mean, se, df))
            p = float(stats.t_pvalue(mean, se, df)) if len(seeds) >= 2 else math.nan
            out.append(GainResult(spec.name, scratch.label, tuple(rows), col.label, tuple(seeds), mean, se, df, low,
                                  high, p))  # fmt: skip
    return out


def verdict_counts(results: Iterable[ClaimResult]) -> dict[str, int]:
    """How many claims got each verdict (every verdict listed, in :data:`rqbench.stats.VERDICTS` order)."""
    counts = Counter(r.verdict for r in results)
    return {v: counts.get(v, 0) for v in stats.VERDICTS}


def results_frame(results: Iterable[ClaimResult]) -> pd.DataFrame:
    """The claims' records (:meth:`ClaimResult.record`) as a DataFrame."""
    records = [r.record() for r in results]
    columns = list(records[0]) if records else ["table", "id", "verdict"]
    return pd.DataFrame.from_records(records, columns=columns)


def _num(x: float, fmt: str = "{:+.2f}") -> str:
    return fmt.format(x) if math.isfinite(x) else "—"


def _counts_line(results: Sequence[ClaimResult]) -> str:
    def line(part: Sequence[ClaimResult]) -> str:
        return ", ".join(f"{v} {n}" for v, n in verdict_counts(part).items() if n) or "none"

    paper = [r for r in results if r.claim.on_paper_metric]
    extra = [r for r in results if not r.claim.on_paper_metric]
    text = f"paper's metric ({len(paper)}): {line(paper)}"
    return text + (f"; extra metrics ({len(extra)}): {line(extra)}" if extra else "")


def claims_markdown(spec: TableSpec, results: Sequence[ClaimResult], gains: Sequence[GainResult] = ()) -> str:
    """The claims of one table with their verdicts as a Markdown table, its pretraining gains, and the counts."""
    if not results and not gains:
        return ""
    level = results[0].alpha if results else stats.ALPHA
    coverage = f"{100 * (1 - level):.4g} %"
    sequential = (
        ""
        if level == stats.ALPHA
        else f"; seeded until decided: tests at Pocock's nominal level {level:.4f} and {coverage} repeated "
        f"confidence intervals, overall level {stats.ALPHA:g}"
    )
    lines: list[str] = []
    if results:  # a table without claims shows its gains alone
        lines += [
            f"**Claims of {spec.name}** (A - B per seed over common seeds; {coverage} t interval{sequential}; "
            f"paired or pooled rows x seeds error; p two-sided, Holm-adjusted within the table, paper's metric and "
            f"extra metrics as separate families; paper: the paper's A - B; rescaled: times our spread / the "
            f"paper's spread; seeds: needed for 80 % power at the rescaled effect)",
            "",
            f"| id | contrast | metric | n | A - B | {coverage} interval | error | p (Holm) | paper | rescaled "
            "| seeds | verdict |",
            "|:---|:---|:---|---:|---:|:---|:---|---:|---:|---:|---:|:---|",
        ]
    for r in results:
        c = r.claim
        paper = "—" if c.paper_effect is None else f"{c.paper_effect:+.1f}"
        interval = f"[{_num(r.low)}, {_num(r.high)}]" if math.isfinite(r.low) else "—"
        need = "—" if not math.isfinite(r.seeds_needed) else f"{r.seeds_needed:.0f}"
        lines.append(
            f"| {c.id} | {c.contrast} | {c.column} | {r.n_seeds} | {_num(r.mean)} | {interval} | {r.error} "
            f"| {_num(r.p_adjusted, '{:.3f}')} | {paper} | {_num(r.reference_effect)} | {need} | {r.verdict} |"
        )
    if gains:
        lines += [
            *([""] if lines else []),
            "Pretraining gain over the random-init row (mean of the pretrained rows - random init, per seed; "
            "paired 95 % t interval):",
            "",
            "| random-init row | column | pretrained rows | n | gain | 95 % interval |",
            "|:---|:---|---:|---:|---:|:---|",
        ]
        lines += [
            f"| {g.scratch} | {g.column} | {len(g.rows)} | {len(g.seeds)} | {_num(g.mean)} "
            f"| [{_num(g.low)}, {_num(g.high)}] |"
            for g in gains
        ]
    if results:
        lines += ["", f"Verdicts of {spec.name}: {_counts_line(results)}"]
    return "\n".join(lines) + "\n"


def counts_markdown(results: Sequence[ClaimResult]) -> str:
    """The verdict counts of several tables: one line per table, then the totals."""
    by_table: dict[str, list[ClaimResult]] = {}
    for r in results:
        by_table.setdefault(r.claim.table, []).append(r)
    lines = [f"- {name}: {_counts_line(part)}" for name, part in by_table.items()]
    lines.append(f"- all: {_counts_line(results)}")
    return "\n".join(lines) + "\n"


def claims_json(results: Sequence[ClaimResult], gains: Sequence[GainResult] = (), **header: Any) -> str:
    """The claims' records, the pretraining gains and the verdict counts as indented JSON (``header``
    fields, e.g. the preset, first)."""
    payload = {
        **header,
        "rules": {
            "alpha": stats.ALPHA,
            "level": stats.LEVEL,
            "holm_families": "per table: the paper-metric claims, and the extra-metric claims",
            "pooled_error": f"rows x seeds block residual when >= {stats.POOL_MIN_ROWS} pretrained rows and "
            f"paired df < {stats.POOL_BELOW_DF}",
            "margin_fraction": stats.MARGIN_FRACTION,
            "power": stats.POWER,
            "untestable_above_seeds": stats.UNTESTABLE_FACTOR * stats.AFFORDABLE_SEEDS,
        },
        "counts": verdict_counts(results),
        "counts_paper_metric": verdict_counts(r for r in results if r.claim.on_paper_metric),
        "claims": [r.record() for r in results],
        "pretraining_gains": [g.record() for g in gains],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
