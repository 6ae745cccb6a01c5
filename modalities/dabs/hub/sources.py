"""Where the real DABS datasets come from: hub ids, local roots, downloads, and the one error they all raise."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..domains import DomainDataError

HUB_IDS: dict[str, Any] = {
    "cifar10": "uoft-cs/cifar10",
    "wikitext103": ("Salesforce/wikitext", "wikitext-103-raw-v1"),
    "sst2": "stanfordnlp/sst2",
    "librispeech": ("openslr/librispeech_asr", "clean"),
    "speech_commands": ("google/speech_commands", "v0.02"),
    "pamap2": "https://archive.ics.uci.edu/ml/machine-learning-databases/00231/PAMAP2_Dataset.zip",
}
"""Dataset name -> Hugging Face id (``repo`` or ``(repo, config)``) or download URL (PAMAP2)."""

OFFLINE_HINT = "offline, use the default domains"


def hub_sources(options: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`HUB_IDS`, overridden by the options' ``hub_ids``."""
    return {**HUB_IDS, **(options.get("hub_ids") or {})}


def local_root(options: Mapping[str, Any], name: str) -> Path | None:
    """The local folder the options' ``hub_roots`` give for dataset ``name`` (``~`` expanded), or None."""
    root = (options.get("hub_roots") or {}).get(name)
    return Path(root).expanduser() if root else None


def unavailable(name: str, source: str, need: str, error: BaseException | None = None) -> DomainDataError:
    """The error of a DABS set that cannot be loaded: ``DABS <name>: could not load <source> (<error>). <need>``."""
    why = f" ({type(error).__name__}: {error})" if error is not None else ""
    return DomainDataError(f"DABS {name}: could not load {source}{why}. {need}")


def _load(hub: Any, split: str, name: str, need: str = "") -> Any:
    """``datasets.load_dataset`` of ``hub`` (``repo`` or ``[repo, config]``), any failure as :func:`unavailable`."""
    import datasets

    repo, config = (hub[0], hub[1] if len(hub) > 1 else None) if isinstance(hub, list | tuple) else (hub, None)
    try:
        return datasets.load_dataset(repo, config, split=split)
    except Exception as error:  # offline, gated, renamed, a loading script: one clear message
        where = f"{repo!r}" + (f" ({config}, {split})" if config else f" ({split})") + " from the Hugging Face Hub"
        raise unavailable(
            name,
            where,
            f"It needs internet access (or the dataset in the Hugging Face cache){need}; {OFFLINE_HINT}.",
            error,
        ) from error


def _offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _download(url: str, dest: Path, name: str, need: str) -> Path:
    """``url`` saved as ``dest`` once (written to a temporary file, then renamed). The HF offline switches
    stop it too."""
    if dest.is_file():
        return dest
    if _offline():
        raise unavailable(name, url, f"Downloads are off (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set). {need}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(part, dest)
    except Exception as error:  # no network, HTTP errors, truncated transfers
        part.unlink(missing_ok=True)
        raise unavailable(name, url, need, error) from error
    return dest


def _extract(archive: Path, dest: Path, pattern: str, name: str, need: str) -> Path:
    """The members of zip ``archive`` (or of zips inside it) whose path matches ``pattern``, flat in ``dest``
    (made atomically)."""
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    def walk(zf: zipfile.ZipFile, depth: int = 0) -> int:
        found = 0
        for info in zf.infolist():
            if re.search(pattern, info.filename):
                with zf.open(info) as src, (tmp / Path(info.filename).name).open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                found += 1
            elif info.filename.lower().endswith(".zip"):  # an archive inside the archive: unpack it to a file first
                inner = tmp / f".inner-{depth}.zip"
                with zf.open(info) as src, inner.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                with zipfile.ZipFile(inner) as nested:
                    found += walk(nested, depth + 1)
                inner.unlink()
        return found

    try:
        with zipfile.ZipFile(archive) as zf:
            found = walk(zf)
    except zipfile.BadZipFile as error:
        shutil.rmtree(tmp, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise unavailable(
            name,
            str(archive),
            f"The download is not a zip archive (removed; it is fetched again next time). {need}",
            error,
        ) from error
    if not found:
        shutil.rmtree(tmp, ignore_errors=True)
        raise unavailable(name, str(archive), f"The archive holds no file matching {pattern!r}. {need}")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def _read_images(
    paths: Sequence[Path], size: int, mode: str, name: str, prepare: Callable[[Any], Any] | None = None
) -> torch.Tensor:
    """Images ``(N, C, size, size)`` in [0, 1] (``mode`` "L" or "RGB"), each ``prepare``-d, then resized
    (bilinear) to ``size``."""
    from PIL import Image

    channels = len(mode)
    out = np.empty((len(paths), channels, size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        if not Path(path).is_file():
            raise DomainDataError(f"DABS {name}: image {path} not found")
        with Image.open(path) as opened:
            image = opened.convert(mode)
            image = prepare(image) if prepare is not None else image
            pixels = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
        out[i] = pixels.reshape(size, size, channels).transpose(2, 0, 1) / 255.0
    return torch.from_numpy(out)
