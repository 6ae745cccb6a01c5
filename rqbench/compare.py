"""``rqbench compare``: new augmentations against the paper's domain-agnostic set, on every modality.

Per modality (its :class:`~rqbench.tables.setting.PaperSetting`), :func:`compare_spec` builds a
table whose rows are the augmentations, each added on top of the modality's base view exactly
where the paper's tables put RQ (same method, spec and overrides, hence the same run keys: runs
the paper tables finished are reused), plus the base view alone (``none``), RQ with the paper's
bins (``RQ``) and a random-init row; its columns are the modality's evaluation columns. Each
table carries one claim per augmentation, ``AUG - RQ`` on the summary column.

:func:`summarize` reads the rendered tables' per-seed values and gives the cross-modal summary:
per augmentation and modality the paired gain over the base view alone with its 95 % t interval,
and the paired difference to RQ with its interval, Holm-adjusted p (one family: every comparison
with RQ in the summary) and verdict (:mod:`rqbench.stats`). :func:`summary_markdown`,
:func:`summary_latex` and :func:`plot_forest` present it; :meth:`pandas.DataFrame.to_csv` of the
summary is its CSV.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rqbench import stats
from rqbench.config import RunConfig
from rqbench.errors import InputError
from rqbench.tables.claim import Claim
from rqbench.tables.claims import seed_values
from rqbench.tables.render import RenderedTable
from rqbench.tables.setting import SETTINGS, PaperSetting, on_base
from rqbench.tables.spec import NO_AUG, RowSpec, TableSpec, canonical_aug, runs_for

DEFAULT_MODALITIES = ("images", "audio", "points", "dabs")
"""The modalities ``rqbench compare`` covers unless told otherwise."""
BASE_LABEL = NO_AUG
"""The row of the base view alone."""
RQ_LABEL = "RQ"
"""The row of RQ with the paper's bins for the modality."""
SCRATCH_LABEL = "random init"
"""The random-init row."""

VERDICT_WORDS = {
    stats.REPRODUCED: "above RQ",
    stats.CONTRADICTED: "below RQ",
    stats.INCONCLUSIVE: "no clear difference",
    stats.NOT_MEASURED: "not measured",
}
"""The verdict of ``AUG - RQ`` (a claim of direction +1 without a reference effect) in words."""

SUMMARY_COLUMNS = ("augmentation", "modality", "column", "n_seeds", "gain", "gain_low", "gain_high", "n_vs_rq",
                   "vs_rq", "vs_rq_low", "vs_rq_high", "p", "p_holm", "verdict", "alpha")  # fmt: skip
"""Columns of :func:`summarize`'s frame (the summary CSV)."""


class CompareError(ValueError, InputError):
    """A ``rqbench compare`` request that cannot be built; the message names the problem and the fix."""


def split_terms(items: Iterable[str]) -> list[str]:
    """Augmentation specs given as repeated options and/or comma-separated lists, commas inside ``(...)``
    kept: ``["none,rq(bins=8,spacing=uniform)"] -> ["none", "rq(bins=8,spacing=uniform)"]``."""
    out: list[str] = []
    for item in items:
        depth, start = 0, 0
        for i, ch in enumerate(item + ","):
            depth += (ch == "(") - (ch == ")")
            if ch == "," and depth == 0:
                if item[start:i].strip():
                    out.append(item[start:i].strip())
                start = i + 1
    return out


def setting_of(modality: str) -> PaperSetting:
    """The :class:`PaperSetting` of ``modality``; an error naming the modalities that have one."""
    if modality not in SETTINGS:
        raise CompareError(
            f"modality {modality!r} has no paper setting to compare on; use one of: {', '.join(SETTINGS.names())} "
            f"(a plugin adds one with rqbench.tables.setting.register_setting)"
        )
    return SETTINGS.get(modality)


def _label(setting: PaperSetting, term: str) -> str:
    canonical = canonical_aug(term)
    if canonical == NO_AUG:
        return BASE_LABEL
    return RQ_LABEL if canonical == setting.rq else canonical


def compare_spec(
    setting: PaperSetting, augs: Sequence[str], against: Sequence[str] | None = None, method: str | None = None
) -> TableSpec:
    """The comparison table of one modality: random init, the base view alone, ``augs``, ``against``
    (default: the setting's) and RQ, each augmentation on the base view; one claim ``AUG - RQ`` per row
    other than those three, on the setting's summary column."""
    from rqbench.tables.yaml_spec import check_augmentation

    chosen = method or setting.method
    terms = [*augs, *(setting.against if against is None else against), NO_AUG, setting.rq]
    rows: dict[str, RowSpec] = {}
    for term in terms:
        try:
            spec = on_base(setting.base, term)
            check_augmentation(spec, setting.modality)
        except ValueError as exc:
            raise CompareError(f"{setting.modality}: augmentation {term!r}: {exc}") from None
        label = _label(setting, term)
        if label not in rows:
            rows[label] = RowSpec(label, method=chosen, aug=spec, overrides=setting.overrides_for(term))
    order = [BASE_LABEL, *(k for k in rows if k not in (BASE_LABEL, RQ_LABEL)), RQ_LABEL]
    claims = tuple(
        Claim("", f"{label} vs RQ", (label,), (RQ_LABEL,), setting.summary, 1, None,
              f"{label} against RQ ({setting.rq}) on the {setting.modality} base view {setting.base!r}")
        for label in order[1:-1]
    )  # fmt: skip
    return TableSpec(
        name=f"compare_{setting.modality}",
        title=f"{setting.modality}: augmentations on the base view {setting.base!r} ({chosen}), against RQ",
        modality=setting.modality,
        row_header=f"augmentation (on {setting.base})",
        rows=(RowSpec(SCRATCH_LABEL, pretrain=False), *(rows[k] for k in order)),
        columns=setting.columns,
        notes=(
            f"Each row adds its augmentation to the base view {setting.base!r} where {setting.source or 'the paper'} "
            f"put RQ; {BASE_LABEL}: the base view alone; {RQ_LABEL}: {setting.rq}, the paper's bins.",
            f"The cross-modal summary reads the column {setting.summary!r}.",
        ),
        claims=claims,
    )


def compare_specs(
    augs: Sequence[str],
    modalities: Sequence[str] = DEFAULT_MODALITIES,
    against: Sequence[str] | None = None,
    method: str | None = None,
) -> list[TableSpec]:
    """One comparison table per modality (see :func:`compare_spec`); pure: builds specs, runs nothing.

    ``against`` (default: each modality's paper set) and ``method`` (default: each modality's paper
    method) apply to every modality. Errors (:class:`CompareError`) name the modality and the term.
    """
    if not augs:
        raise CompareError("name at least one augmentation to compare (e.g. rqbench compare negate)")
    if not modalities:
        raise CompareError(f"name at least one modality (e.g. --modalities {','.join(DEFAULT_MODALITIES)})")
    if method is not None:
        from rqbench.methods import METHODS

        try:
            METHODS.get(method)
        except KeyError as exc:
            raise CompareError(f"--method: {exc}") from None
    return [compare_spec(setting_of(m), augs, against, method) for m in dict.fromkeys(modalities)]


def compare_configs(
    specs: Sequence[TableSpec], seeds: int | Iterable[int], preset: str, world_size: int = 1
) -> list[RunConfig]:
    """The run configs the comparison tables need (the same ``make_config`` call as ``rqbench bench``)."""
    from rqbench.runner import make_config

    return [
        make_config(r.modality, r.method, r.aug, preset, r.seed, r.pretrain, world_size=world_size, **dict(r.overrides))
        for r in runs_for(specs, seeds)
    ]


def _paired(
    a: dict[int, float], b: dict[int, float], alpha: float = stats.ALPHA
) -> tuple[int, float, float, float, float]:
    """``(n, mean, low, high, p)`` of the per-seed ``a - b`` over common seeds (paired t; ``1 - alpha`` interval)."""
    if not a or not b:
        return 0, math.nan, math.nan, math.nan, math.nan
    seeds, d = stats.paired_differences([a], [b])
    mean, se, df = (float(x) for x in stats.mean_se(d))
    low, high = (float(x) for x in stats.t_interval(mean, se, df, 1.0 - alpha))
    p = float(stats.t_pvalue(mean, se, df)) if len(seeds) >= 2 else math.nan
    return len(seeds), mean, low, high, p


def summarize(rendered: Sequence[RenderedTable], alpha: float = stats.ALPHA) -> pd.DataFrame:
    """The cross-modal summary of rendered comparison tables (:data:`SUMMARY_COLUMNS`), one line per
    augmentation and modality (RQ included, the base view alone and random init not).

    ``gain``: the augmentation minus the base view alone on the modality's summary column, paired over
    common seeds, with its 95 % t interval; ``vs_rq``: the augmentation minus RQ, paired, interval,
    two-sided p, ``p_holm`` Holm-adjusted over every comparison with RQ in the summary, and ``verdict``
    (:data:`VERDICT_WORDS`; ``""`` on RQ's own line). ``alpha``: the level of the tests and ``1 - alpha``
    the intervals' coverage (below 0.05 when a sequential design chose the seed counts, see
    :func:`rqbench.sequential.nominal_alpha`)."""
    records = []
    for table in rendered:
        spec = table.table
        column = setting_of(spec.modality).summary
        values = seed_values(table.per_seed)
        for row in spec.rows:
            if row.label in (SCRATCH_LABEL, BASE_LABEL):
                continue
            own = values.get((row.label, column), {})
            n, gain, low, high, _ = _paired(own, values.get((BASE_LABEL, column), {}), alpha)
            n_rq, d, d_low, d_high, p = (
                _paired(own, values.get((RQ_LABEL, column), {}), alpha)
                if row.label != RQ_LABEL
                else (0, *[math.nan] * 4)
            )
            records.append(
                {"augmentation": row.label, "modality": spec.modality, "column": column, "n_seeds": n, "gain": gain,
                 "gain_low": low, "gain_high": high, "n_vs_rq": n_rq, "vs_rq": d, "vs_rq_low": d_low,
                 "vs_rq_high": d_high, "p": p}
            )  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS[:-3]))
    frame["p_holm"] = stats.holm(frame["p"].to_numpy(dtype=float)) if len(frame) else []
    verdicts = []
    for r in frame.itertuples():
        if r.augmentation == RQ_LABEL:
            verdicts.append("")
            continue
        found = stats.verdict(
            r.vs_rq, r.vs_rq_low, r.vs_rq_high, r.p_holm, 1, None, math.nan, int(r.n_vs_rq), alpha=alpha
        )
        verdicts.append(VERDICT_WORDS[found])
    frame["verdict"] = verdicts
    frame["alpha"] = alpha
    return frame


def _num(x: float) -> str:
    return f"{x:+.2f}" if math.isfinite(x) else "—"


def _cell_text(r: pd.Series) -> str:
    if int(r["n_seeds"]) == 0:
        return "—"
    text = f"{_num(r['gain'])} [{_num(r['gain_low'])}, {_num(r['gain_high'])}]"
    if r["augmentation"] == RQ_LABEL:
        return text + " (RQ)"
    p = f"{r['p_holm']:.3f}" if math.isfinite(r["p_holm"]) else "—"
    return f"{text}; vs RQ {_num(r['vs_rq'])} [{_num(r['vs_rq_low'])}, {_num(r['vs_rq_high'])}], p {p}: {r['verdict']}"


def summary_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as displayed: rows = augmentations (RQ last), columns = modalities, cells as text."""
    augs = [*dict.fromkeys(a for a in summary["augmentation"] if a != RQ_LABEL), RQ_LABEL]
    modalities = list(dict.fromkeys(summary["modality"]))
    data = {m: ["—"] * len(augs) for m in modalities}
    for _, r in summary.iterrows():
        data[r["modality"]][augs.index(r["augmentation"])] = _cell_text(r)
    return pd.DataFrame(data, index=pd.Index(augs, name="augmentation"))


def _level(summary: pd.DataFrame) -> float:
    """The level the summary was judged at (its ``alpha`` column; 0.05 for an empty one)."""
    return float(summary["alpha"].iloc[0]) if len(summary) else stats.ALPHA


def _legend(summary: pd.DataFrame, preset: str) -> str:
    columns = ", ".join(f"{m}: {c}" for m, c in dict(zip(summary["modality"], summary["column"])).items())
    n = int(summary["n_seeds"].max()) if len(summary) else 0
    alpha = _level(summary)
    sequential = (
        ""
        if alpha == stats.ALPHA
        else f" (a sequential design chose some seed counts: Pocock's nominal level {alpha:.4f}, "
        f"overall {stats.ALPHA:g})"
    )
    return (
        f"Preset {preset}, up to {n} seeds. Each cell: the gain over the base view alone (augmentation - none, "
        f"paired per seed, mean [{100 * (1 - alpha):.4g} % t interval]); then augmentation - RQ, paired, its "
        f"interval, the two-sided p Holm-adjusted over every comparison with RQ in this summary, and the verdict "
        f"(p <= {alpha:.4g}: above or below RQ){sequential}. Column read per modality: {columns}."
    )


def summary_markdown(summary: pd.DataFrame, preset: str) -> str:
    """The summary as a Markdown table with its legend."""
    frame = summary_frame(summary)
    lines = [
        "**Cross-modal summary: gain over the base view alone, and each augmentation against RQ**",
        "",
        "| augmentation | " + " | ".join(frame.columns) + " |",
        "|:---|" + "|".join([":---"] * len(frame.columns)) + "|",
    ]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in frame.iterrows()]
    return "\n".join([*lines, "", _legend(summary, preset)]) + "\n"


def summary_latex(summary: pd.DataFrame, preset: str) -> str:
    """The summary as a booktabs ``table`` (needs ``\\usepackage{booktabs}``)."""
    from rqbench.tables.render import _tex

    frame = summary_frame(summary)
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        "\\begin{tabular}{l" + "p{4.2cm}" * len(frame.columns) + "}",
        "\\toprule",
        " & ".join(_tex(h) for h in ["augmentation", *frame.columns]) + " \\\\",
        "\\midrule",
    ]
    lines += [" & ".join(_tex(str(v)) for v in (label, *values)) + " \\\\" for label, values in frame.iterrows()]
    lines += ["\\bottomrule", "\\end{tabular}", f"\\caption{{{_tex(_legend(summary, preset))}}}",
              "\\label{tab:rqbench-compare-summary}", "\\end{table}"]  # fmt: skip
    return "\n".join(lines) + "\n"


_COLORS = {"above RQ": "tab:green", "below RQ": "tab:red", "": "tab:blue"}


def plot_forest(summary: pd.DataFrame, path: str | os.PathLike[str], preset: str) -> Path:
    """A forest plot: per modality a panel, per augmentation its gain over the base view with its interval
    (``1 - alpha``, the summary's level); RQ blue, green / red: above / below RQ after Holm, grey otherwise.
    Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from rqbench.io import write_atomic

    frame = summary_frame(summary)
    augs, modalities = list(frame.index), list(frame.columns)
    fig = Figure(figsize=(3.2 * len(modalities) + 1.5, 0.45 * len(augs) + 1.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(modalities), sharey=True, squeeze=False)[0]
    for ax, modality in zip(axes, modalities, strict=True):
        part = summary[summary["modality"] == modality].set_index("augmentation")
        for y, aug in enumerate(augs):
            if aug not in part.index or not math.isfinite(float(part.loc[aug, "gain"])):
                continue
            r = part.loc[aug]
            low, high = float(r["gain_low"]), float(r["gain_high"])
            err = [[r["gain"] - low], [high - r["gain"]]] if math.isfinite(low) else None
            ax.errorbar(r["gain"], y, xerr=err, fmt="o", capsize=3, color=_COLORS.get(str(r["verdict"]), "tab:gray"))
        ax.axvline(0.0, color="black", lw=0.8, ls="--")
        ax.set_title(f"{modality}\n({part['column'].iloc[0] if len(part) else ''})", fontsize=9)
        ax.set_xlabel("gain over the base view (points)")
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(np.arange(len(augs)))
    axes[0].set_yticklabels(augs)
    axes[0].invert_yaxis()
    alpha = _level(summary)
    fig.suptitle(
        f"Gain over the base view alone, mean and {100 * (1 - alpha):.4g} % interval over seeds ({preset})", fontsize=10
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    return write_atomic(path, buf.getvalue())


def view_specs(spec: TableSpec) -> list[str]:
    """The augmentation specs of a comparison table's pretrained rows, in row order (one picture row each)."""
    return list(dict.fromkeys(r.aug for r in spec.rows if r.pretrain and r.aug is not None))


def write_views(
    specs: Sequence[TableSpec], directory: str | os.PathLike[str], preset: str, n: int = 6, seed: int = 0
) -> tuple[dict[str, Path], dict[str, str]]:
    """Per modality, ``compare_MODALITY_views_PRESET.png`` in ``directory``: ``n`` real samples and one row
    per compared augmentation on the base view (what ``rqbench show MODALITY --aug ...`` draws).
    Returns ``(written, skipped)``; ``skipped`` maps a modality that draws no pictures to why."""
    from rqbench.modality import MODALITIES

    written: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for spec in specs:
        instance = MODALITIES.get(spec.modality)()
        path = Path(directory) / f"compare_{spec.modality}_views_{preset}.png"
        try:
            written[spec.modality] = instance.show(instance.preset(preset), view_specs(spec), n, path, seed)
        except NotImplementedError as exc:
            skipped[spec.modality] = str(exc)
    return written, skipped


def write_summary(summary: pd.DataFrame, directory: str | os.PathLike[str], preset: str) -> dict[str, Path]:
    """``compare_summary_PRESET.{md,csv,tex,png}`` in ``directory``, written atomically."""
    from rqbench.io import write_atomic

    base = Path(directory) / f"compare_summary_{preset}"
    csv = summary.to_csv(index=False, lineterminator="\n")
    out = {
        ext: write_atomic(base.with_suffix(f".{ext}"), text)
        for ext, text in (
            ("md", summary_markdown(summary, preset)),
            ("csv", csv),
            ("tex", summary_latex(summary, preset)),
        )
    }
    out["png"] = plot_forest(summary, base.with_suffix(".png"), preset)
    return out


__all__ = [
    "BASE_LABEL",
    "DEFAULT_MODALITIES",
    "RQ_LABEL",
    "SCRATCH_LABEL",
    "SUMMARY_COLUMNS",
    "VERDICT_WORDS",
    "CompareError",
    "compare_configs",
    "compare_spec",
    "compare_specs",
    "plot_forest",
    "setting_of",
    "split_terms",
    "summarize",
    "summary_frame",
    "summary_latex",
    "summary_markdown",
    "view_specs",
    "write_summary",
    "write_views",
]
