"""Paired statistics over seeds, and the verdict a comparison of two table rows gets.

Pure functions on numbers (NumPy arrays, no tables): :mod:`rqbench.tables.claims` feeds them the
per-seed values of a rendered table. Most functions work along the last axis and broadcast over
the leading ones, so a simulation of many tables is one call.

The design, and the rules every verdict follows:

* **Pairing.** Seed ``s`` gives every row of a table the same initialization, data order and label
  subsets, so a contrast is computed per seed (``d_s = mean_A(s) - mean_B(s)``) over the seeds
  common to the rows involved, and tested with the paired t-test (Student 1908; e.g. Montgomery,
  *Design and Analysis of Experiments*, 9th ed., §2.5.1): ``mean(d)``, ``se = sd(d) / sqrt(n)``,
  ``df = n - 1``.
* **Pooled error** (:func:`rcbd_residual_ms`). With few seeds the paired ``df`` is tiny
  (``t_{0.975, 2} = 4.30``). When the table has at least :data:`POOL_MIN_ROWS` pretrained rows
  measured on all the claim's seeds, the claim involves only such rows, and the paired ``df`` is
  below :data:`POOL_BELOW_DF`, the error is the residual mean square of the randomized complete
  block design rows x seeds over those rows (Montgomery §4.1): ``MS_E = SS_E / ((R - 1)(n - 1))``,
  and a contrast ``sum_r c_r ybar_r`` (``sum c_r = 0``) has ``se = sqrt(MS_E sum c_r^2 / n)`` with
  ``(R - 1)(n - 1)`` df (Montgomery §3.5.4). This assumes the rows' seed-to-seed noise is alike
  (sphericity); the scratch row is never pooled.
* **Multiplicity.** p-values are two-sided and adjusted with Holm's step-down method (Holm 1979,
  *Scand. J. Statist.* 6:65-70) within a family: the claims of one table on the paper's metric are
  one family, its claims on the extra metrics (kNN, 1 % labels) another (:func:`holm`). The
  family-wise error rate of "reproduced" + "contradicted" is then at most :data:`ALPHA` per family.
* **Verdicts** (:func:`verdicts`), in this order:

  1. ``reproduced``: Holm-adjusted p <= :data:`ALPHA` and the mean difference on the paper's side
     (so the unadjusted 95 % interval lies above 0 in the paper's direction);
  2. ``contradicted``: the same on the other side;
  3. ``smaller than the paper's effect``: the 95 % t interval lies inside ``(-margin, +margin)``,
     ``margin = MARGIN_FRACTION x |reference effect|``: the paper's effect rescaled to our metric
     (:func:`scale_ratio`), so a difference of at most half the paper's effect either way. An
     equivalence test (Schuirmann 1987, two one-sided tests) with the 95 % interval: each side at
     2.5 %, so no multiplicity adjustment is needed for it;
  4. ``untestable at this scale``: 80 % power at two-sided level :data:`ALPHA` for the reference
     effect, given the observed per-seed sd of the contrast, needs more than
     :data:`UNTESTABLE_FACTOR` x :data:`AFFORDABLE_SEEDS` seeds (:func:`seeds_for_power`);
  5. ``inconclusive`` otherwise; ``not measured`` below 2 common seeds.

  Without a reference effect (the paper gives no numbers, or too few rows to rescale them)
  verdicts 3 and 4 cannot be reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _st

Floats = NDArray[np.float64]

ALPHA = 0.05
"""Family-wise level of the tests and 1 - coverage of the intervals."""
LEVEL = 0.95
"""Coverage of the t intervals."""
POWER = 0.8
"""Power the seeds-needed computation asks for."""
AFFORDABLE_SEEDS = 12
"""Seeds per row a quick-scale table can afford on the 2-core CPU."""
UNTESTABLE_FACTOR = 10
"""A claim is untestable at this scale when it needs more than this many times the affordable seeds."""
MARGIN_FRACTION = 0.5
"""The equivalence margin as a fraction of the rescaled paper effect."""
POOL_MIN_ROWS = 3
"""Fewest pretrained rows for the pooled (rows x seeds block) error."""
POOL_BELOW_DF = 10
"""The pooled error is used while the paired df (common seeds - 1) is below this."""

REPRODUCED = "reproduced"
CONTRADICTED = "contradicted"
SMALLER = "smaller than the paper's effect"
UNTESTABLE = "untestable at this scale"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"
VERDICTS = (REPRODUCED, CONTRADICTED, SMALLER, UNTESTABLE, INCONCLUSIVE, NOT_MEASURED)
"""Every verdict, in the order they are decided (the first that applies)."""


def common_seeds(*series: Mapping[int, float]) -> list[int]:
    """The seeds present (with a finite value) in every one of ``series``, sorted."""
    if not series:
        return []
    sets = [{int(s) for s, v in x.items() if np.isfinite(v)} for x in series]
    return sorted(set.intersection(*sets))


def paired_differences(a: Sequence[Mapping[int, float]], b: Sequence[Mapping[int, float]]) -> tuple[list[int], Floats]:
    """Per common seed, the mean of the ``a`` rows minus the mean of the ``b`` rows.

    Each row is ``{seed: value}``; only seeds present in every row of ``a`` and ``b`` are used.
    Returns ``(seeds, differences)``.
    """
    if not a or not b:
        raise ValueError("a contrast needs at least one row on each side")
    seeds = common_seeds(*a, *b)
    mean_a = np.array([[float(x[s]) for s in seeds] for x in a], dtype=np.float64).reshape(len(a), -1).mean(0)
    mean_b = np.array([[float(x[s]) for s in seeds] for x in b], dtype=np.float64).reshape(len(b), -1).mean(0)
    return seeds, np.asarray(mean_a - mean_b, dtype=np.float64)


def mean_se(d: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """Mean, paired standard error ``sd(d, ddof=1) / sqrt(n)`` and ``df = n - 1`` along the last axis.

    The paired t-test's ingredients (Montgomery §2.5.1); ``se`` is NaN below 2 values.
    """
    x = np.asarray(d, dtype=np.float64)
    n = x.shape[-1]
    mean = x.mean(-1) if n else np.full(x.shape[:-1], np.nan)
    if n < 2:
        se = np.full(x.shape[:-1], np.nan)
    else:
        se = x.std(-1, ddof=1) / np.sqrt(n)
    return np.asarray(mean, dtype=np.float64), np.asarray(se, dtype=np.float64), np.full(x.shape[:-1], n - 1.0)


def t_quantile(df: ArrayLike, level: float = LEVEL) -> Floats:
    """``t_{(1 + level) / 2, df}``: the two-sided critical value of Student's t (``scipy.stats.t.ppf``)."""
    return np.asarray(_st.t.ppf(0.5 + level / 2.0, np.asarray(df, dtype=np.float64)), dtype=np.float64)


def t_interval(mean: ArrayLike, se: ArrayLike, df: ArrayLike, level: float = LEVEL) -> tuple[Floats, Floats]:
    """The t interval ``mean -+ t_{(1 + level) / 2, df} se`` (Montgomery §2.4.5)."""
    m = np.asarray(mean, dtype=np.float64)
    half = t_quantile(df, level) * np.asarray(se, dtype=np.float64)
    return m - half, m + half


def t_pvalue(mean: ArrayLike, se: ArrayLike, df: ArrayLike) -> Floats:
    """Two-sided p-value of ``t = mean / se`` with ``df`` degrees of freedom (``2 * t.sf(|t|, df)``).

    ``se == 0`` gives p = 0 for a non-zero mean and p = 1 for a zero mean; NaN stays NaN.
    """
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(m) / s
    t = np.where(s == 0, np.where(m == 0, 0.0, np.inf), t)
    return np.asarray(2.0 * _st.t.sf(t, np.asarray(df, dtype=np.float64)), dtype=np.float64)


def rcbd_residual_ms(y: ArrayLike) -> tuple[Floats, Floats]:
    """Residual mean square and its df of a randomized complete block design, along the last two axes.

    ``y[..., r, s]`` is row (treatment) ``r`` on seed (block) ``s``, every cell present. The
    additive two-way model ``y_rs = mu + tau_r + beta_s + e_rs`` leaves the residual
    ``e_rs = y_rs - ybar_r. - ybar_.s + ybar_..``; ``MS_E = sum e_rs^2 / ((R - 1)(n - 1))``
    (Montgomery, *Design and Analysis of Experiments*, §4.1, Table 4.2).
    """
    x = np.asarray(y, dtype=np.float64)
    rows, seeds = x.shape[-2], x.shape[-1]
    df = (rows - 1) * (seeds - 1)
    if df < 1:
        return np.full(x.shape[:-2], np.nan), np.full(x.shape[:-2], float(df))
    resid = x - x.mean(-1, keepdims=True) - x.mean(-2, keepdims=True) + x.mean((-2, -1), keepdims=True)
    ms = (resid**2).sum((-2, -1)) / df
    return np.asarray(ms, dtype=np.float64), np.full(x.shape[:-2], float(df))


def use_pooled(pool_rows: int, n_seeds: int) -> bool:
    """The pooling rule: the rows x seeds block error replaces the paired one when at least
    :data:`POOL_MIN_ROWS` pretrained rows are measured on the claim's ``n_seeds`` common seeds and the paired
    df ``n_seeds - 1`` is at least 1 and below :data:`POOL_BELOW_DF` (the pooled df ``(R - 1)(n - 1)`` is then
    at least twice the paired df)."""
    return pool_rows >= POOL_MIN_ROWS and 1 <= n_seeds - 1 < POOL_BELOW_DF


def contrast_se(ms: ArrayLike, weights: ArrayLike, n: int) -> Floats:
    """Standard error of the contrast ``sum_r c_r ybar_r`` from a pooled error: ``sqrt(MS_E sum c_r^2 / n)``
    (Montgomery §3.5.4), ``n`` seeds per row."""
    c = np.asarray(weights, dtype=np.float64)
    return np.asarray(np.sqrt(np.asarray(ms, dtype=np.float64) * (c**2).sum(-1) / n), dtype=np.float64)


def holm(p: ArrayLike) -> Floats:
    """Holm's step-down adjusted p-values along the last axis (Holm 1979).

    With the ``m`` p-values sorted ``p_(1) <= ... <= p_(m)``, ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``;
    rejecting where ``p~ <= alpha`` controls the family-wise error rate at ``alpha``. NaN entries are
    not part of the family (they do not count in ``m``) and stay NaN.
    """
    x = np.asarray(p, dtype=np.float64)
    order = np.argsort(x, axis=-1, kind="stable")  # NaN sort last
    ranked = np.take_along_axis(x, order, axis=-1)
    m = np.isfinite(x).sum(-1, keepdims=True)
    factor = m - np.arange(x.shape[-1])
    adjusted = np.minimum(1.0, np.maximum.accumulate(np.where(np.isfinite(ranked), factor * ranked, np.nan), axis=-1))
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return np.asarray(out, dtype=np.float64)


def scale_ratio(ours: ArrayLike, paper: ArrayLike) -> float:
    """How our metric's spread compares with the paper's: ``sd(ours) / sd(paper)`` (ddof=1) over the rows
    that have both (paired by position; NaN pairs dropped). NaN with fewer than 3 rows or no paper spread.

    The paper's effect times this ratio is its effect *rescaled to our metric's range* (the reference
    effect of the verdicts). The ratio uses our row means, so when a whole table barely moves at our
    scale the rescaled effect is small too and fewer claims can be called smaller than the paper's.
    """
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(paper, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return float("nan")
    sd_paper = float(np.std(b[keep], ddof=1))
    if sd_paper == 0:
        return float("nan")
    return float(np.std(a[keep], ddof=1)) / sd_paper


def seeds_for_power(sd: ArrayLike, effect: ArrayLike, alpha: float = ALPHA, power: float = POWER) -> Floats:
    """Seeds a two-sided paired t-test at level ``alpha`` needs to detect ``effect`` with ``power``, given the
    per-seed sd of the difference: ``n = ((z_{1-alpha/2} + z_power) sd / effect)^2 + z_{1-alpha/2}^2 / 2``,
    rounded up (Guenther 1981, *Am. Stat.* 35:243-244; the second term corrects the normal formula
    for the t distribution). Infinite for a zero effect, NaN where an input is NaN.
    """
    za = float(_st.norm.ppf(1.0 - alpha / 2.0))
    zb = float(_st.norm.ppf(power))
    s = np.asarray(sd, dtype=np.float64)
    e = np.abs(np.asarray(effect, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        n = ((za + zb) * s / e) ** 2 + za**2 / 2.0
    return np.asarray(np.ceil(n), dtype=np.float64)


def verdicts(
    mean: ArrayLike,
    low: ArrayLike,
    high: ArrayLike,
    p_adjusted: ArrayLike,
    direction: ArrayLike,
    reference_effect: ArrayLike,
    seeds_needed: ArrayLike,
    n: ArrayLike,
    *,
    alpha: float = ALPHA,
    margin_fraction: float = MARGIN_FRACTION,
    affordable: int = AFFORDABLE_SEEDS,
    factor: int = UNTESTABLE_FACTOR,
) -> NDArray[np.str_]:
    """The verdict of each claim (elementwise, broadcast); the rules are in this module's docstring.

    ``direction`` is the paper's sign (+1 / -1), ``reference_effect`` the paper's effect rescaled to
    our metric (NaN: none), ``seeds_needed`` from :func:`seeds_for_power`, ``n`` the common seeds.
    """
    m, lo, hi, pa, sign, ref, need, count = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (mean, low, high, p_adjusted, direction, reference_effect,
                                                     seeds_needed, n))
    )  # fmt: skip
    margin = margin_fraction * np.abs(ref)
    measured = (count >= 2) & np.isfinite(pa)
    significant = measured & (pa <= alpha)
    out = np.full(m.shape, INCONCLUSIVE, dtype=object)
    untestable = measured & np.isfinite(ref) & (ref != 0) & (need > factor * affordable)
    out[untestable] = UNTESTABLE
    smaller = measured & np.isfinite(margin) & (margin > 0) & (lo > -margin) & (hi < margin)
    out[smaller] = SMALLER
    out[significant & (np.sign(m) == -sign)] = CONTRADICTED
    out[significant & (np.sign(m) == sign)] = REPRODUCED
    out[~measured] = NOT_MEASURED
    return np.asarray(out, dtype=np.str_)


def verdict(
    mean: float,
    low: float,
    high: float,
    p_adjusted: float,
    direction: int,
    reference_effect: float | None,
    seeds_needed: float,
    n: int,
    *,
    alpha: float = ALPHA,
) -> str:
    """:func:`verdicts` for one claim (``reference_effect`` ``None``: the paper gives none)."""
    ref = float("nan") if reference_effect is None else reference_effect
    return str(verdicts(mean, low, high, p_adjusted, direction, ref, seeds_needed, n, alpha=alpha)[()])
