"""Which stored runs a table may use: exactly those whose whole resolved configuration is the one the
table's preset gives each cell (compared by run key); the others are named, with what differs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rqbench.config import RunConfig
from rqbench.tables.spec import TableSpec, canonical_aug

ConfigMaker = Callable[..., RunConfig]


@dataclass(frozen=True)
class Matched:
    """The rows a table may use, the runs it left out and why, and the preset's hash."""

    rows: pd.DataFrame
    ignored: dict[str, str]
    """run key -> why it was left out."""
    preset_hash: str

    def report(self, table: str) -> str:
        """'' when nothing was left out; else one line per reason with the runs it covers."""
        if not self.ignored:
            return ""
        by_reason: dict[str, list[str]] = {}
        for key, why in sorted(self.ignored.items()):
            by_reason.setdefault(why, []).append(key)
        lines = [f"{len(self.ignored)} run(s) of {table}'s rows ignored (not the table's preset):"]
        lines += [
            f"  {len(keys)} run(s): {why} [{', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''}]"
            for why, keys in by_reason.items()
        ]
        return "\n".join(lines)


def preset_hash(modality: str, preset: str, make: ConfigMaker) -> str:
    """8 hex digits of the resolved preset ``preset`` of ``modality`` (evaluation settings included)."""
    cfg = make(modality, "scratch", "none", preset, 0, False)
    blob = json.dumps(cfg.preset.key_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def flatten(fields: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"preset": {"data": {"n": 1}}}`` -> ``{"preset.data.n": 1}``."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def differences(found: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """The dotted settings where two config dicts differ (``preset.`` dropped), sorted."""
    a, b = flatten(found), flatten(expected)
    return sorted(k.removeprefix("preset.") for k in set(a) | set(b) if a.get(k) != b.get(k))


def match_runs(
    table: TableSpec, results: pd.DataFrame, preset: str, runs_dir: Path, make: ConfigMaker, world_size: int = 1
) -> Matched:
    """The rows of ``results`` that ``table`` may use under ``preset``.

    For every run config of the table and every seed found in the results, the expected run is
    ``make(...)`` (:func:`rqbench.runner.make_config`) of that config, seed and ``world_size``; a row
    counts only when its ``run_key`` is one of those keys. Rows of the table's configs (same
    method and augmentation) under other keys are left out, each with the settings that differ
    (read from ``runs_dir/<key>/config.json``).
    """
    ours = results[(results["modality"] == table.modality) & (results["preset"] == preset)]
    seeds = sorted({int(s) for s in ours["seed"]}) if len(ours) else []
    expected: dict[str, RunConfig] = {}
    by_identity: dict[tuple[str, str, bool, int], list[RunConfig]] = {}
    for template in table.runs():
        for seed in seeds:
            cfg = make(
                template.modality,
                template.method,
                template.aug,
                preset,
                seed,
                template.pretrain,
                world_size=world_size,
                **dict(template.overrides),
            )
            expected[cfg.key] = cfg
            by_identity.setdefault((cfg.method, cfg.aug, cfg.pretrain, seed), []).append(cfg)
    keep = ours["run_key"].isin(expected.keys())
    ignored: dict[str, str] = {}
    for (key, method, aug, seed), _ in ours[~keep].groupby(["run_key", "method", "aug", "seed"], sort=True):
        candidates = by_identity.get((method, canonical_aug(aug), method != "scratch", int(seed)), [])
        if candidates:
            ignored[key] = _why(runs_dir / key / "config.json", candidates)
    return Matched(ours[keep], ignored, preset_hash(table.modality, preset, make))


def _why(path: Path, candidates: list[RunConfig]) -> str:
    if not path.exists():
        return "no config.json in its run directory: its settings cannot be checked"
    found = json.loads(path.read_text())
    diffs = min((differences(found, c.to_dict()) for c in candidates), key=len)
    return (
        "settings differ (" + ", ".join(diffs) + ")"
        if diffs
        else "same settings under another key (older code identity)"
    )


__all__ = ["Matched", "differences", "flatten", "match_runs", "preset_hash"]
