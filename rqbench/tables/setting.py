"""How the paper pretrains and evaluates each modality, so a new augmentation can be put exactly where RQ was.

A :class:`PaperSetting` names a modality's base view, method, RQ with the paper's bins, the
domain-agnostic augmentations the paper's tables compare RQ with, and the evaluation columns
(with the one column a cross-modal summary reads). ``rqbench compare`` builds its tables from it
(:func:`rqbench.compare.compare_specs`), so its runs are the paper tables' runs wherever they
coincide. The paper's four settings are registered in :mod:`rqbench.tables.paper_tables`;
other modalities register theirs with :func:`register_setting`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rqbench.registry import Registry
from rqbench.tables.spec import NO_AUG, ColumnSpec, Overrides, canonical_aug


def on_base(base: str, aug: str) -> str:
    """The canonical spec of ``aug`` applied on top of the base view ``base`` (``on_base("rrc", "dacl") ==
    "rrc+dacl"``; ``"none"`` terms drop out)."""
    kept = [t for t in (base, aug) if t.strip() and canonical_aug(t) != NO_AUG]
    return canonical_aug("+".join(kept) or NO_AUG)


@dataclass(frozen=True)
class PaperSetting:
    """One modality as the paper's tables run it.

    Args:
        modality: the registered modality.
        method: the paper's pretraining method on it.
        base: the base view spec every augmentation is added to (``"none"``: no view augmentation).
        rq: RQ with the paper's number of bins for this modality (``"rq(bins=8)"``).
        against: the augmentations the paper compares RQ with on this modality, as the tables write
            them (``"none"`` is the base view alone); RQ is always compared too.
        columns: the evaluation columns of the modality's paper tables (no paper numbers).
        summary: the label of the column a cross-modal summary reads (one number per seed).
        aug_overrides: run-config settings that go with an augmentation (DABS's e-Mix trains the
            input embedding that RQ keeps frozen), as ``{canonical aug term: overrides}``.
        source: the paper tables this setting comes from (for notes).
    """

    modality: str
    method: str
    base: str
    rq: str
    against: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    summary: str
    aug_overrides: tuple[tuple[str, Overrides], ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        labels = [c.label for c in self.columns]
        if self.summary not in labels:
            raise ValueError(f"setting {self.modality}: summary column {self.summary!r} is not one of {labels}")
        object.__setattr__(self, "against", tuple(canonical_aug(a) for a in self.against))
        object.__setattr__(self, "rq", canonical_aug(self.rq))
        object.__setattr__(self, "aug_overrides", tuple((canonical_aug(k), v) for k, v in self.aug_overrides))

    def overrides_for(self, aug: str) -> Overrides:
        """The run-config settings that go with augmentation term ``aug`` (``()`` for most)."""
        found: Mapping[str, Overrides] = dict(self.aug_overrides)
        return found.get(canonical_aug(aug), ())


SETTINGS: Registry[PaperSetting] = Registry("paper setting", builtins=("rqbench.tables.paper_tables",))
"""Modality name -> its :class:`PaperSetting`."""


def register_setting(setting: PaperSetting) -> PaperSetting:
    """Register ``setting`` under its modality's name."""
    summary = f"{setting.method} on {setting.base}, {setting.rq}"
    return SETTINGS.register(setting.modality, summary=summary)(setting)


__all__ = ["SETTINGS", "PaperSetting", "on_base", "register_setting"]
