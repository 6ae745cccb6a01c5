"""`rqbench compare`: its tables reuse the paper tables' runs, its summary has the paired statistics of
rqbench.stats, and on the blobs test modalities it runs once, renders, and runs nothing the second time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from blobs_modality import negate_plugin
from scipy import stats as st
from typer.testing import CliRunner

from rqbench import stats
from rqbench.cli import app
from rqbench.compare import (
    BASE_LABEL,
    RQ_LABEL,
    SCRATCH_LABEL,
    CompareError,
    compare_specs,
    split_terms,
    summarize,
    view_specs,
    write_views,
)
from rqbench.tables import TABLES, render
from rqbench.tables.setting import SETTINGS, on_base


def test_split_terms_keeps_commas_inside_arguments() -> None:
    assert split_terms(["none,rq(bins=8,spacing=uniform)", "dacl"]) == ["none", "rq(bins=8,spacing=uniform)", "dacl"]


def test_the_default_comparison_reuses_every_run_of_the_paper_tables() -> None:
    paper_runs = {r for name in TABLES.names() for r in TABLES.get(name).runs()}
    specs = {s.modality: s for s in compare_specs(["rq(bins=2)"])}
    assert list(specs) == ["images", "audio", "points", "dabs"]
    for modality, spec in specs.items():
        setting = SETTINGS.get(modality)
        labels = [r.label for r in spec.rows]
        assert labels[:2] == [SCRATCH_LABEL, BASE_LABEL] and labels[-1] == RQ_LABEL and "rq(bins=2)" in labels
        measured = next(c.label for c in spec.columns if not c.is_average)
        new = spec.cell("rq(bins=2)", measured).run
        assert new is not None and new.aug == on_base(setting.base, "rq(bins=2)") and new.method == setting.method
        reused = [r for r in spec.runs() if r.aug != new.aug]
        missing = [r for r in reused if r not in paper_runs]
        # DABS's base view alone (infonce on the raw tokens) is the one default row no paper table has.
        expected = [r for r in reused if modality == "dabs" and r.aug == "none" and r.pretrain]
        assert missing == expected, (modality, missing)
        assert [c.a[0] for c in spec.claims] == labels[2:-1] and {c.b for c in spec.claims} == {(RQ_LABEL,)}
    dabs = specs["dabs"]
    assert dict(dabs.cell("emix", "Text").run.overrides)["backbone.freeze_embedding"] is False  # as Table 10's e-Mix
    assert [r.label for r in specs["images"].rows][2:] == ["rq(bins=2)", "dacl", "imix", RQ_LABEL]
    assert (
        specs["audio"].cell("byola-mixup", "notes (NS)").run
        == TABLES.get("table9").cell("BYOL-A (RRC + mixup)", "notes (NS)").run
    )


def test_against_and_method_apply_to_every_modality_and_mistakes_are_named() -> None:
    (spec,) = compare_specs(["dacl"], ["blobs"], ["none", "rq(bins=4)"], "byol")
    assert [r.label for r in spec.rows] == [SCRATCH_LABEL, BASE_LABEL, "dacl", RQ_LABEL]
    assert {r.method for r in spec.runs() if r.pretrain} == {"byol"}
    for args, message in [
        ((["dacl"], ["nosuch"]), "modality 'nosuch' has no paper setting to compare on"),
        ((["rqq"], ["blobs"]), "blobs: augmentation 'rqq': unknown augmentation 'rqq'"),
        ((["rq(bins=0)"], ["blobs"]), "bins must be >= 1"),
        (([], ["blobs"]), "name at least one augmentation"),
        ((["dacl"], ["blobs"], None, "simclr"), "--method: unknown method 'simclr'"),
    ]:
        with pytest.raises(CompareError, match=None) as caught:
            compare_specs(*args)
        assert message in str(caught.value), str(caught.value)


def _rendered_blobs(modality: str, values: dict[str, list[float]]) -> pd.DataFrame:
    """The blobs comparison table rendered from synthetic rows: per row label, one linear top1 value per seed."""
    (spec,) = compare_specs(["dacl"], [modality])
    rows = []
    for label, seeds in values.items():
        run = spec.cell(label, "linear top1").run
        for seed, value in enumerate(seeds):
            rows.append(
                {"modality": modality, "method": run.method, "aug": run.aug, "protocol": "linear", "metric": "top1",
                 "label_fraction": 1.0, "dataset": "blobs", "seed": seed, "preset": "quick", "value": value,
                 "run_key": f"{label}-{seed}"}
            )  # fmt: skip
    return render(spec, pd.DataFrame(rows), "quick")


def test_summary_is_the_paired_t_with_holm_over_every_comparison_with_rq() -> None:
    base = [50.0, 52.0, 51.0, 49.0]
    first = _rendered_blobs(
        "blobs",
        {BASE_LABEL: base, "dacl": [60.0, 61.5, 60.2, 59.0], RQ_LABEL: [55.0, 56.0, 55.5, 54.0], SCRATCH_LABEL: base},
    )
    second = _rendered_blobs("blobs-cf", {BASE_LABEL: base, "dacl": [50.5, 52.0, 50.0, 49.2], RQ_LABEL: base})
    summary = summarize([first, second]).set_index(["augmentation", "modality"])
    assert sorted(summary.index) == [("RQ", "blobs"), ("RQ", "blobs-cf"), ("dacl", "blobs"), ("dacl", "blobs-cf")]
    dacl = np.array([60.0, 61.5, 60.2, 59.0])
    gain = dacl - np.array(base)
    low, high = st.t.interval(0.95, len(gain) - 1, loc=gain.mean(), scale=st.sem(gain))
    row = summary.loc[("dacl", "blobs")]
    assert row["gain"] == pytest.approx(gain.mean()) and (row["gain_low"], row["gain_high"]) == pytest.approx(
        (low, high)
    )
    p = [st.ttest_rel(dacl, [55.0, 56.0, 55.5, 54.0]).pvalue, st.ttest_rel([50.5, 52.0, 50.0, 49.2], base).pvalue]
    assert (row["p"], summary.loc[("dacl", "blobs-cf"), "p"]) == pytest.approx(tuple(p))
    holm = stats.holm(np.array(p))
    assert (row["p_holm"], summary.loc[("dacl", "blobs-cf"), "p_holm"]) == pytest.approx(tuple(holm))
    assert row["verdict"] == "above RQ" and summary.loc[("dacl", "blobs-cf"), "verdict"] == "no clear difference"
    assert summary.loc[("RQ", "blobs"), "verdict"] == "" and math.isnan(summary.loc[("RQ", "blobs"), "p"])
    assert (summary["alpha"] == stats.ALPHA).all()
    # At a sequential design's nominal level: wider intervals, and a Holm p above it is no verdict.
    strict = summarize([first, second], alpha=0.01).set_index(["augmentation", "modality"]).loc[("dacl", "blobs")]
    assert (strict["gain_low"], strict["gain_high"]) == pytest.approx(
        st.t.interval(0.99, len(gain) - 1, loc=gain.mean(), scale=st.sem(gain))
    )
    assert strict["p_holm"] == pytest.approx(holm[0]) and strict["alpha"] == 0.01
    assert strict["verdict"] == "above RQ"  # Holm p 1.6e-4
    stricter = summarize([first, second], alpha=1e-4).set_index(["augmentation", "modality"])
    assert stricter.loc[("dacl", "blobs"), "verdict"] == "no clear difference"


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return result.output


def test_compare_end_to_end_then_nothing_runs_again(tmp_path: Path) -> None:
    plugin = str(negate_plugin(tmp_path / "negate_compare.py", "negate-compare", "-x (compare test)."))
    results = tmp_path / "results"
    args = ["--plugin", plugin, "compare", "negate-compare", "--modalities", "blobs,blobs-cf", "--preset", "tiny",
            "--seeds", "2", "--results", str(results), "--no-progress"]  # fmt: skip
    first = _invoke(*args)
    assert "compare: 16 runs, 0 finished already, 16 to do" in first  # 2 modalities x 4 rows x 2 seeds
    tables = results / "tables"
    for name in ("compare_blobs_tiny", "compare_blobs-cf_tiny", "compare_summary_tiny"):
        for ext in ("md", "csv", "tex"):
            assert (tables / f"{name}.{ext}").stat().st_size > 0
    assert (tables / "compare_summary_tiny.png").read_bytes()[:4] == b"\x89PNG"
    assert "no view pictures for blobs: modality 'blobs' does not draw pictures of its views" in first
    summary = pd.read_csv(tables / "compare_summary_tiny.csv")
    assert set(zip(summary["augmentation"], summary["modality"])) == {
        (a, m) for a in ("negate-compare", "RQ") for m in ("blobs", "blobs-cf")
    }
    assert (summary["n_seeds"] == 2).all() and summary["gain"].notna().all()
    assert set(summary.loc[summary["augmentation"] != "RQ", "verdict"]) <= {
        "above RQ",
        "below RQ",
        "no clear difference",
    }
    cells = pd.read_csv(tables / "compare_blobs_tiny.csv")
    assert (cells["n_seeds"] == 2).all() and set(cells["row"]) == {SCRATCH_LABEL, BASE_LABEL, "negate-compare", "RQ"}
    rows_before = (results / "results.csv").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in (results / "runs").glob("*/rows.csv")}
    again = _invoke(*args)
    assert "compare: 16 runs, 16 finished already, 0 to do" in again
    assert (results / "results.csv").read_text() == rows_before
    assert {p: p.stat().st_mtime_ns for p in (results / "runs").glob("*/rows.csv")} == stamps
    assert pd.read_csv(tables / "compare_summary_tiny.csv").equals(summary)
    # The comparison's spec is a YAML table: `rqbench claims` judges AUG vs RQ from it.
    judged = _invoke("--plugin", plugin, "claims", str(tables / "compare_blobs.yaml"), "--preset", "tiny",
                     "--results", str(results))  # fmt: skip
    assert "negate-compare vs RQ" in judged
    # Seeded until decided: the finished seeds are the first look; only undecided claims' runs get a third seed.
    until = _invoke(*args, "--until-decided", "--max-seeds", "3")
    assert "compare_blobs until decided: looks at 2, 3 seeds" in until and "look 1/2 (2 seeds)" in until
    state = (tables / "compare_blobs_tiny_sequential.json").read_text()
    assert '"seeds": 2' in state and "stopped" in state


def test_compare_rejects_bad_input_before_any_run(tmp_path: Path) -> None:
    for args, message in [
        (["compare", "rqq", "--modalities", "blobs"], "unknown augmentation 'rqq'"),
        (["compare", "dacl", "--modalities", "blobs,nosuch"], "modality 'nosuch' has no paper setting"),
        (["compare", "dacl", "--modalities", "blobs", "--preset", "paper"], "has no preset 'paper'"),
    ]:
        result = CliRunner().invoke(app, [*args, "--results", str(tmp_path)], env={"COLUMNS": "300"})
        assert result.exit_code == 2 and message in " ".join(result.output.split()), (args, result.output)
        assert not (tmp_path / "runs").exists()


def test_view_pictures_show_every_compared_augmentation_on_the_base_view(tmp_path: Path) -> None:
    specs = compare_specs(["dacl"], ["images", "dabs"], against=["none"])
    assert view_specs(specs[0]) == ["rrc", "rrc+dacl", "rrc+rq(bins=8)"]
    written, skipped = write_views(specs, tmp_path, "quick", n=2)
    assert written == {"images": tmp_path / "compare_images_views_quick.png"}
    assert written["images"].read_bytes()[:4] == b"\x89PNG"
    assert skipped == {"dabs": "modality 'dabs' does not draw pictures of its views"}
