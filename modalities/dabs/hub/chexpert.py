"""CheXpert, DABS's medical-images set (a local copy only): DABS src/datasets/medical_images/chexpert.py."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..domains import DomainData, DomainDataError, fit_count, make_task, register_domain, seeded_subset
from ..tokenizers import PatchEmbedding
from .sources import OFFLINE_HINT, _read_images, local_root, unavailable

CHEXPERT_URL = "https://stanfordmlgroup.github.io/competitions/chexpert/"
CHEXPERT_LABELS = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")
"""DABS's five labels (the CheXpert competition's, Irvin et al. 2019), in its order."""


def _chexpert_dir(options: Mapping[str, Any]) -> Path:
    root = local_root(options, "chexpert")
    need = (
        "CheXpert needs registration: download CheXpert-v1.0-small (the version DABS's baselines use) "
        f"from {CHEXPERT_URL}, "
        f"extract it and set data.hub_roots.chexpert to the folder holding train.csv and valid.csv; or {OFFLINE_HINT}."
    )
    if root is None:
        raise unavailable("chexpert", "a local copy (data.hub_roots.chexpert is not set)", need)
    for folder in (root, root / "CheXpert-v1.0-small", root / "CheXpert-v1.0"):
        if (folder / "train.csv").is_file() and (folder / "valid.csv").is_file():
            return folder
    raise unavailable("chexpert", str(root), f"It has no train.csv and valid.csv. {need}")


def read_chexpert_csv(path: Path, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """``(image paths as listed, (N, len(labels)) 0/1)``: 1.0 is positive; blank (no mention) and -1
    (uncertain) are 0, as DABS."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        absent = [c for c in ("Path", *labels) if c not in (reader.fieldnames or ())]
        if absent:
            raise DomainDataError(f"DABS chexpert: {path} has no column(s) {', '.join(absent)}")
        rows = list(reader)
    y = np.asarray(
        [[int(r[c].strip() != "" and float(r[c]) == 1.0) for c in labels] for r in rows], dtype=np.int64
    ).reshape(len(rows), len(labels))
    return [r["Path"] for r in rows], y


def _chexpert_image(folder: Path, listed: str) -> Path:
    """A csv ``Path`` (``CheXpert-v1.0-small/train/...``, relative to the dataset's parent folder) on disk."""
    rel = Path(listed)
    for candidate in (folder.parent / rel, folder / Path(*rel.parts[1:]), folder / rel):
        if candidate.is_file():
            return candidate
    return folder.parent / rel  # reported missing by _read_images


@register_domain("chexpert", "Chest x-rays")
def chexpert(options: Mapping[str, Any], seed: int) -> DomainData:
    """CheXpert chest x-rays (DABS's medical pretraining set): 224x224 (``image_size``), 16x16 patches (``patch``).

    Pretraining and evaluation training on ``train.csv``, evaluation test on ``valid.csv``, every
    view, resized (bilinear) to [0, 1] as DABS. DABS repeats the grey image in 3 RGB channels;
    here it is one channel: a Linear on three copies is a Linear on one with summed weights, of
    the same variance at PyTorch's default initialization. DABS's task is multi-label (its 5
    labels, BCE, AUROC); ours are single-label: one binary task per label of ``chexpert_labels``
    (default DABS's five), named ``chexpert_<label>``, scored by AUROC as DABS (the linear
    probe's; kNN and fine-tuning rows stay top-1); the first only unless ``extra_tasks``.
    """
    folder = _chexpert_dir(options)
    labels = tuple(options.get("chexpert_labels") or CHEXPERT_LABELS)
    size, patch = int(options.get("image_size", 224)), int(options.get("patch", 16))
    train_paths, train_y = read_chexpert_csv(folder / "train.csv", labels)
    test_paths, test_y = read_chexpert_csv(folder / "valid.csv", labels)

    def images(paths: list[str], rows: np.ndarray) -> torch.Tensor:
        return _read_images([_chexpert_image(folder, paths[i]) for i in rows], size, "L", "chexpert")

    tr = seeded_subset(len(train_paths), options.get("eval_train_samples"), seed)
    te = seeded_subset(len(test_paths), options.get("eval_test_samples"), seed + 1)
    pre = images(train_paths, seeded_subset(len(train_paths), options.get("pretrain_samples"), seed + 2))
    x_tr, x_te = images(train_paths, tr), images(test_paths, te)
    chosen = labels if options.get("extra_tasks") else labels[:1]
    tasks = tuple(
        make_task(
            f"chexpert_{name.lower().replace(' ', '_')}",
            (x_tr, torch.from_numpy(train_y[tr, k])),
            (x_te, torch.from_numpy(test_y[te, k])),
            {},
            seed,
            metric="auroc",
        )
        for k, name in enumerate(chosen)
    )
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tasks,
        embedding=lambda dim: PatchEmbedding(1, size, size, patch, dim),
        info={
            "source": str(folder),
            "labels": list(chosen),
            "train_positives": {n: int(train_y[:, k].sum()) for k, n in enumerate(labels)},
            "pretrain_available": len(train_paths),
        },
    )
