"""Seeds until decided: a group-sequential design that adds seeds only where a claim is undecided.

``rqbench bench NAME --until-decided`` runs every row of a table with the first look's seeds, judges
the table's claims, and then, look by look, adds seeds only to the runs of the claims still
undecided, until every claim on the paper's metric is decided, the seeds reach ``--max-seeds``, or
the time ``--budget`` is spent.

**The stopping rule.** Looking at the data after every round and stopping when a test is
significant inflates the error rate. The design fixes, before the first run, at most
:data:`MAX_LOOKS` looks at planned seed counts (:meth:`SequentialDesign.looks`) and uses at every look
Pocock's constant nominal level (Pocock 1977, *Biometrika* 64:191-199; Jennison & Turnbull,
*Group Sequential Methods*, 2000, §2.4). In normal theory it is ``2 (1 - Phi(c))`` with ``c`` the
critical value of ``P(max_k |Z_k| > c) = alpha`` for the standardized statistics ``Z_k`` of the
looks, whose correlation is ``sqrt(n_i / n_j)`` (``n_i <= n_j``; Brownian-motion structure, J&T
§3.1; :func:`pocock_constant`). With a handful of seeds the variance is estimated with few degrees
of freedom, so the level used is the same constant-level rule calibrated for the paired t-test
(J&T §3.8's significance-level approach, :func:`t_nominal_level`). Every test and interval is
then made at that nominal level ``alpha'``: the tests are the ``alpha'`` tests, the intervals
``1 - alpha'`` intervals, which are Jennison & Turnbull's *repeated confidence intervals* (§9.1):
their coverage holds simultaneously over all looks, so a verdict read at any look, including a
later look than the one that decided it, keeps the error rate. Within a table's family of claims
Holm's procedure is applied at ``alpha'`` (the group-sequential Holm procedure, Ye et al. 2013,
*Stat. Med.* 32:1112-1124, with Pocock boundaries). The t statistic with the estimated variance
replaces the normal one (J&T §3.8); the simulation test in ``tests/test_sequential.py`` checks
the realized error rate on tables with no true differences.

Only the paper-metric claims drive the seeding; the extra-metric claims (kNN, 1 % labels) are read
on the runs that exist. A claim counts as decided when its verdict is reproduced, contradicted,
smaller than the paper's effect, or untestable at this scale (more seeds than affordable cannot
decide it). ``--budget`` counts the CPU time of the bench process (:func:`cpu_seconds`), not the
wall clock, so a busy machine does not shorten a table's share. The design and every look are
kept in ``RESULTS/tables/NAME_PRESET_sequential.json``,
which ``rqbench claims`` / ``rqbench table`` read to judge at the same nominal level; a stopped
bench resumes from it.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize
from scipy import stats as _st

from rqbench import stats
from rqbench.io import write_atomic

if TYPE_CHECKING:
    from rqbench.tables.spec import TableSpec

MAX_LOOKS = 5
"""Most looks a design may plan."""
DECIDED = frozenset({stats.REPRODUCED, stats.CONTRADICTED, stats.SMALLER, stats.UNTESTABLE})
"""Verdicts after which a claim gets no more seeds."""


@functools.lru_cache(maxsize=32)
def _pocock(n: tuple[int, ...], alpha: float) -> float:
    """:func:`pocock_constant` on checked, hashable arguments (memoized: a pure function)."""
    if len(n) == 1:
        return float(_st.norm.ppf(1 - alpha / 2))
    counts = np.asarray(n, dtype=np.float64)
    corr = np.sqrt(np.minimum.outer(counts, counts) / np.maximum.outer(counts, counts))
    mvn = _st.multivariate_normal(mean=np.zeros(len(n)), cov=corr, seed=0)

    def excess(c: float) -> float:
        inside = float(mvn.cdf(np.full(len(n), c), lower_limit=np.full(len(n), -c)))
        return (1.0 - inside) - alpha

    low = float(_st.norm.ppf(1 - alpha / 2))
    high = float(_st.norm.ppf(1 - alpha / (2 * len(n)))) + 0.1  # Bonferroni bounds Pocock's constant
    return float(optimize.brentq(excess, low, high, xtol=1e-5))


def pocock_constant(seed_counts: Sequence[int], alpha: float = stats.ALPHA) -> float:
    """Pocock's two-sided critical value for looks after ``seed_counts`` seeds (increasing).

    The ``c`` solving ``P(|Z_k| <= c for every look k) = 1 - alpha`` where ``Z`` is multivariate
    normal with ``corr(Z_i, Z_j) = sqrt(n_i / n_j)`` for ``n_i <= n_j``. One look gives
    ``Phi^{-1}(1 - alpha / 2)``; five equally spaced looks at ``alpha = 0.05`` give 2.413 (Jennison &
    Turnbull 2000, Table 2.1).
    """
    n = np.asarray(seed_counts, dtype=np.float64)
    if n.ndim != 1 or len(n) < 1 or np.any(n <= 0) or np.any(np.diff(n) <= 0):
        raise ValueError(f"seed counts must be positive and increasing, got {list(seed_counts)}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return _pocock(tuple(int(k) for k in n), float(alpha))


@dataclass(frozen=True)
class SequentialDesign:
    """The looks of ``--until-decided``: the first at ``first_seeds``, the last at ``max_seeds``,
    at most :data:`MAX_LOOKS` in all, evenly spaced in seeds (rounded); overall level ``alpha``."""

    first_seeds: int = 3
    max_seeds: int = 12
    max_looks: int = MAX_LOOKS
    alpha: float = stats.ALPHA

    def __post_init__(self) -> None:
        if self.first_seeds < 2:
            raise ValueError(f"the first look needs at least 2 seeds (paired differences), got {self.first_seeds}")
        if self.max_seeds < self.first_seeds:
            raise ValueError(f"--max-seeds {self.max_seeds} is below the first look's {self.first_seeds} seeds")
        if not 1 <= self.max_looks <= MAX_LOOKS:
            raise ValueError(f"looks must be 1..{MAX_LOOKS}, got {self.max_looks}")

    @property
    def looks(self) -> tuple[int, ...]:
        """Seeds per row at each look: ``first + round((max - first) k / (L - 1))``, duplicates dropped."""
        if self.max_looks == 1 or self.max_seeds == self.first_seeds:
            return (self.max_seeds,) if self.max_seeds == self.first_seeds else (self.first_seeds,)
        span = self.max_seeds - self.first_seeds
        steps = min(self.max_looks - 1, span)
        return tuple(dict.fromkeys(self.first_seeds + round(span * k / steps) for k in range(steps + 1)))

    @property
    def constant(self) -> float:
        """Pocock's critical value for :attr:`looks` (:func:`pocock_constant`)."""
        return pocock_constant(self.looks, self.alpha)

    @property
    def nominal_alpha(self) -> float:
        """The level of every test and interval: Pocock's constant nominal level for the paired t-test
        (:func:`t_nominal_level`); at or below the normal theory's ``2 (1 - Phi(c))``."""
        return t_nominal_level(self.looks, self.alpha)


def t_nominal_level(seed_counts: Sequence[int], alpha: float = stats.ALPHA, paths: int = 200_000) -> float:
    """Pocock's constant nominal level for repeated paired t-tests at looks after ``seed_counts`` seeds.

    The normal-theory level ``2 (1 - Phi(c))`` (:func:`pocock_constant`) assumes a known variance;
    with 2-11 degrees of freedom the t-test's p-values at successive looks are less correlated
    and the overall error creeps above ``alpha`` (about 6 % for 3..12 seeds, 5 looks). The level
    used instead is the ``alpha``-quantile of the smallest two-sided t-test p-value over the looks
    of Gaussian paired differences with no effect (the t statistics' joint null distribution
    does not depend on the variance, so this holds for any sd), computed by Monte Carlo with
    ``paths`` paths and a fixed seed (deterministic; its sampling error is about
    ``sqrt(alpha (1 - alpha) / paths)`` in level). One look gives ``alpha``.
    """
    n = tuple(int(k) for k in seed_counts)
    if len(n) < 1 or n[0] < 2 or any(b <= a for a, b in itertools.pairwise(n)):
        raise ValueError(f"seed counts must be increasing and at least 2, got {list(seed_counts)}")
    return _t_nominal_level(n, float(alpha), int(paths))


@functools.lru_cache(maxsize=32)
def _t_nominal_level(n: tuple[int, ...], alpha: float, paths: int) -> float:
    """:func:`t_nominal_level` on checked, hashable arguments (memoized: a pure function)."""
    if len(n) == 1:
        return alpha
    x = np.random.default_rng(0).standard_normal((paths, n[-1]))
    smallest = np.ones(paths)
    for k in n:
        mean, se, df = stats.mean_se(x[:, :k])
        smallest = np.minimum(smallest, stats.t_pvalue(mean, se, df))
    return float(np.quantile(smallest, alpha))


def parse_budget(text: str) -> float:
    """Seconds in a budget such as ``2h``, ``90m``, ``1h30m``, ``3600s`` or ``3600``; one clear error otherwise."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        return float(cleaned)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", cleaned)
    if not parts or "".join(a + b for a, b in parts) != cleaned:
        raise ValueError(f"--budget {text!r} is not a duration; write it like 2h, 90m, 1h30m or 3600s")
    seconds = sum(float(a) * units[b] for a, b in parts)
    if seconds <= 0:
        raise ValueError(f"--budget {text!r} must be positive")
    return seconds


@dataclass
class Look:
    """One look of a sequential bench: the planned seeds, the claims still undecided after it, time spent."""

    seeds: int
    undecided: list[str]
    runs_done: int
    spent_s: float


@dataclass
class SequentialState:
    """What ``--until-decided`` keeps between invocations: its design, its looks, the time spent."""

    table: str
    preset: str
    design: SequentialDesign
    looks: list[Look] = field(default_factory=list)
    spent_s: float = 0.0
    stopped: str = ""

    def to_json(self) -> str:
        """Indented JSON, the nominal level and Pocock's constant included for a reader."""
        payload: dict[str, Any] = asdict(self)
        payload["looks_planned"] = list(self.design.looks)
        payload["pocock_constant"] = self.design.constant
        payload["nominal_alpha"] = self.design.nominal_alpha
        return json.dumps(payload, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SequentialState:
        """The state :meth:`to_json` wrote."""
        raw = json.loads(text)
        return cls(
            table=raw["table"],
            preset=raw["preset"],
            design=SequentialDesign(**raw["design"]),
            looks=[Look(**look) for look in raw.get("looks", [])],
            spent_s=float(raw.get("spent_s", 0.0)),
            stopped=str(raw.get("stopped", "")),
        )

    def save(self, path: Path) -> Path:
        """Write atomically to ``path``."""
        return write_atomic(path, self.to_json())


def state_path(results: Path, table: str, preset: str) -> Path:
    """Where the sequential state of ``table`` at ``preset`` lives."""
    return results / "tables" / f"{table}_{preset}_sequential.json"


def load_state(results: Path, table: str, preset: str) -> SequentialState | None:
    """The table's sequential state, ``None`` when it was never seeded sequentially."""
    path = state_path(results, table, preset)
    return SequentialState.from_json(path.read_text()) if path.exists() else None


def seeding_states(results: Path, spec: TableSpec, preset: str) -> list[SequentialState]:
    """The sequential states whose looks chose seeds for some of ``spec``'s runs at ``preset``: its own,
    and those of the registered tables that share a run with it (Table 7 reads Table 6's runs, so its
    seed counts are as data-dependent as Table 6's)."""
    from rqbench.tables.registry import TABLES

    runs = set(spec.runs())
    found = []
    for path in sorted((results / "tables").glob(f"*_{preset}_sequential.json")):
        state = SequentialState.from_json(path.read_text())
        if state.preset != preset:
            continue
        if state.table == spec.name or (state.table in TABLES and runs & set(TABLES.get(state.table).runs())):
            found.append(state)
    return found


def nominal_alpha(results: Path, spec: TableSpec, preset: str) -> float:
    """The level ``spec``'s claims are judged at: the smallest nominal level of the sequential designs
    that seeded its runs (:func:`seeding_states`; Pocock's level holds at whichever look a design
    stopped, so judging a table at it is conservative), else :data:`rqbench.stats.ALPHA`."""
    return min((s.design.nominal_alpha for s in seeding_states(results, spec, preset)), default=stats.ALPHA)


def undecided(verdicts: Iterable[tuple[str, str, bool]]) -> list[str]:
    """Ids of the paper-metric claims not yet decided, from ``(id, verdict, on_paper_metric)`` triples."""
    return [cid for cid, verdict, on_paper in verdicts if on_paper and verdict not in DECIDED]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children so far (user + system, ``os.times``): what a
    ``--budget`` counts, so that other work on a shared machine does not eat into a table's budget."""
    t = os.times()
    return float(t.user + t.system + t.children_user + t.children_system)


def round_budget_ok(spent_s: float, budget_s: float | None, run_s: float) -> bool:
    """Whether one more run of about ``run_s`` seconds fits: ``spent + run <= budget`` (no budget: always)."""
    return budget_s is None or (spent_s + (run_s if math.isfinite(run_s) else 0.0)) <= budget_s
