"""``langid``: spoken-language identification from recorded human speech (VoxForge-like).

Tux Paint's stamps (Debian ``tuxpaint-stamps-default``) come with spoken descriptions recorded
by volunteers, ``/usr/share/tuxpaint/stamps/**/<stamp>_desc_<lang>.ogg`` (OGG Vorbis,
44.1 kHz, 0.6-10.8 s): 7,418 files, fr 928, ro 920, ru 920, ca 918, bg 917, es 890, be 694,
el 681, da 322 and a few others. The label is the language (``languages``, by default the six
with about 900 clips each). Few people recorded each language, so the speaker is a confound
that cannot be removed; the split removes the *content* leak instead:

* the split unit is the stamp, and stamps that share a recording (byte-identical files, e.g.
  the filled and outlined letter ``M``) or an English caption (the first line of
  ``<stamp>.txt``) are merged into one group; each group goes to the test split with
  probability ``test_fraction`` (seeded), so a description's text is never in both splits;
* byte-identical files in one language are kept once.

``clips_per_language`` (``None``: all) caps each language, drawing ``test_fraction`` of the cap
from its test clips and the rest from its training clips. Clips are read with ``soundfile``,
resampled to 16 kHz, trimmed of leading and trailing silence (-40 dB) and cut to their first
``max_seconds`` seconds. Most recordings are shorter than ``max_seconds`` (BYOL-A's evaluation
zero-pads them: 70 % of the frames of an evaluation window were padding before version 2 of the
corpora) and some hold digital silence (6 % of the frames of a training crop), so with ``fill``
(default) a clip is its recording followed by other recordings of the same language and split
(a seeded order, 0.1-0.3 s pauses between them) until it fills ``max_seconds``, as a VoxForge
prompt of several sentences; ``clip_id`` lists its stamps, ``group`` is its first one's group
(all are of the same split). The background noise of
:func:`modalities.audio.noise.with_noise_floor` is mixed under the whole clip at an SNR drawn
from ``snr_db`` (20-40 dB) and pads the few that stay short; clips are peak-normalised to 0.9.
``speaker`` is ``tuxpaint-<lang>`` (the recordings carry no speaker names).

=========== ======================= ============ ================================
scale       ``clips_per_language``  clips (6)    build time (one core, measured)
=========== ======================= ============ ================================
``tiny``    8                       48           about 1 s
``quick``   300                     1,800        57 s on a busy machine (550 MB)
``full``    ``None`` (all)          4,676        about 30 s (estimated)
=========== ======================= ============ ================================

(4,676 = the six languages' 5,493 files less byte-identical duplicates.)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .cache import (
    AudioCorpus,
    AudioUnavailableError,
    Clip,
    CorpusPlan,
    apt_command,
    clips_to_dataset,
    file_fingerprint,
    progress_bar,
    register_corpus,
)
from .features import SAMPLE_RATE, peak_normalize, read_audio, seconds_to_samples, trim_silence
from .noise import SNR_DB, check_snr_range, clip_rng, corpus_recipe, noise_floor_key, with_noise_floor

__all__ = ["DEFAULT_LANGUAGES", "TUXPAINT_PACKAGE", "TUXPAINT_STAMPS", "find_descriptions", "langid", "stamp_groups"]

TUXPAINT_STAMPS = Path("/usr/share/tuxpaint/stamps")
TUXPAINT_PACKAGE = "tuxpaint-stamps-default"
#: The six languages with about 900 recordings each (VoxForge also has six).
DEFAULT_LANGUAGES = ("bg", "ca", "es", "fr", "ro", "ru")
_DESC = re.compile(r"^(?P<stem>.+)_desc_(?P<lang>[a-z]{2,3}(?:_[A-Z]{2})?)\.ogg$")

SCALES: dict[str, dict[str, int | None]] = {
    "tiny": {"clips_per_language": 8},
    "quick": {"clips_per_language": 300},
    "full": {"clips_per_language": None},
}


def find_descriptions(root: Path) -> dict[str, dict[str, Path]]:
    """``{language: {stamp: file}}`` for every ``<stamp>_desc_<lang>.ogg`` under ``root``.

    A stamp is named by its path relative to ``root`` without the suffix
    (``animals/birds/robin``). Files such as ``x_desc_da.ogg.ogg`` do not match.
    """
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(root.rglob("*_desc_*.ogg")):
        match = _DESC.match(path.name)
        if match is None or not path.is_file():
            continue
        stamp = (path.parent.relative_to(root) / match["stem"]).as_posix()
        found.setdefault(match["lang"], {})[stamp] = path
    return found


def _caption(root: Path, stamp: str) -> str | None:
    """The stamp's English caption (first line of ``<stamp>.txt``), normalised, if any."""
    text_file = root / f"{stamp}.txt"
    try:
        first = text_file.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return None
    words = re.sub(r"[^\w\s]", " ", first.lower()).split()
    return " ".join(words) or None


def stamp_groups(root: Path, files: dict[str, dict[str, Path]]) -> tuple[dict[str, str], dict[Path, str]]:
    """Split groups: ``{stamp: group}`` (stamps sharing a file's bytes or a caption are merged;
    a group is named by its first stamp in sorted order), and each file's SHA-256."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    digests: dict[Path, str] = {}
    first_with: dict[str, str] = {}
    captions: dict[str, str | None] = {}
    for lang in sorted(files):
        for stamp, path in sorted(files[lang].items()):
            parent.setdefault(stamp, stamp)
            digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            caption = captions.setdefault(stamp, _caption(root, stamp))
            for shared in (f"bytes:{digests[path]}", f"caption:{caption}" if caption else None):
                if shared is None:
                    continue
                if shared in first_with:
                    union(stamp, first_with[shared])
                else:
                    first_with[shared] = stamp
    return {stamp: find(stamp) for stamp in sorted(parent)}, digests


class _Recordings:
    """Recordings read once (resampled to 16 kHz and trimmed) and kept while one language of one side is built."""

    def __init__(self) -> None:
        self.read: dict[Path, np.ndarray] = {}

    def __call__(self, path: Path) -> np.ndarray:
        if path not in self.read:
            self.read[path] = trim_silence(read_audio(path, sample_rate=SAMPLE_RATE))
        return self.read[path]


@register_corpus("langid", SCALES)
def langid(
    *,
    seed: int = 0,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    clips_per_language: int | None = 300,
    test_fraction: float = 0.2,
    max_seconds: float = 5.0,
    root: str | os.PathLike[str] | None = None,
    snr_db: Sequence[float] = SNR_DB,
    noise_floor: str = "clip",
    fill: bool = True,
) -> CorpusPlan:
    """VoxForge-like spoken-language identification from Tux Paint's recorded stamp descriptions.

    ``noise_floor``: ``"clip"`` (each clip draws its own background recipe) or ``"corpus"`` (one
    recipe for every clip, :func:`modalities.audio.noise.corpus_recipe`).
    """
    stamps_dir = Path(root).expanduser() if root is not None else TUXPAINT_STAMPS
    if not stamps_dir.is_dir():
        if root is not None:
            raise FileNotFoundError(f"Tux Paint stamps folder {stamps_dir} does not exist")
        raise AudioUnavailableError(
            f"the langid corpus needs Tux Paint's recorded stamp descriptions in {stamps_dir}. "
            f"Install them with: {apt_command(TUXPAINT_PACKAGE)}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if clips_per_language is not None and (not isinstance(clips_per_language, int) or clips_per_language < 2):
        raise ValueError(f"clips_per_language must be an int >= 2 (one per split) or None, got {clips_per_language!r}")
    snr = check_snr_range(snr_db)
    recipe = corpus_recipe(noise_floor, seed, "langid")
    languages = tuple(sorted(set(languages)))
    if len(languages) < 2:
        raise ValueError(f"need at least two languages, got {list(languages)}")
    found = find_descriptions(stamps_dir)
    missing = [lang for lang in languages if len(found.get(lang, {})) < 2]
    if missing:
        counts = ", ".join(f"{lang} {len(v)}" for lang, v in sorted(found.items(), key=lambda kv: -len(kv[1])))
        raise ValueError(
            f"Tux Paint has fewer than 2 recordings for {', '.join(missing)} under {stamps_dir}; "
            f"recordings per language: {counts or 'none'}"
        )
    files = {lang: found[lang] for lang in languages}
    all_files = sorted(p for lang in languages for p in files[lang].values())
    key = {
        "seed": seed,
        "root": str(stamps_dir.resolve()),
        "files": file_fingerprint(all_files, stamps_dir),
        "languages": list(languages),
        "clips_per_language": clips_per_language,
        "test_fraction": test_fraction,
        "max_seconds": max_seconds,
        "snr_db": list(snr),
        **noise_floor_key(noise_floor),
        "fill": fill,
    }
    limit = seconds_to_samples(max_seconds)

    def build(progress: bool) -> AudioCorpus:
        groups, digests = stamp_groups(stamps_dir, files)
        rng = np.random.default_rng([seed, 44100])
        names = sorted(set(groups.values()))
        in_test = dict(zip(names, (rng.random(len(names)) < test_fraction).tolist(), strict=True))
        chosen: dict[str, list[tuple[int, str, Path]]] = {"train": [], "test": []}
        pools: list[dict[str, list[tuple[str, Path]]]] = [{} for _ in languages]  # every recording per side
        for label, lang in enumerate(languages):
            sides: dict[str, list[tuple[str, Path]]] = {"train": [], "test": []}
            seen: set[str] = set()
            for stamp, path in sorted(files[lang].items()):
                if digests[path] in seen:
                    continue  # the same recording under another stamp: keep it once
                seen.add(digests[path])
                sides["test" if in_test[groups[stamp]] else "train"].append((stamp, path))
            if not sides["train"] or not sides["test"]:
                raise ValueError(
                    f"langid: language {lang!r} has no {'test' if not sides['test'] else 'train'} recordings "
                    f"with seed {seed}; change test_fraction or the seed"
                )
            for side in ("train", "test"):
                pools[label][side] = list(sides[side])
            if clips_per_language is not None:
                want_test = min(max(round(test_fraction * clips_per_language), 1), clips_per_language - 1)
                want = {"test": want_test, "train": clips_per_language - want_test}
                for side in ("train", "test"):
                    items = sides[side]
                    if len(items) > want[side]:
                        sides[side] = [items[i] for i in sorted(rng.choice(len(items), size=want[side], replace=False))]
            for side in ("train", "test"):
                chosen[side] += [(label, stamp, path) for stamp, path in sides[side]]
        splits = {}
        with progress_bar("langid: reading recordings", sum(map(len, chosen.values())), progress) as advance:
            for side in ("train", "test"):
                clips, read, last = [], _Recordings(), -1
                for label, stamp, path in chosen[side]:
                    if label != last:
                        read, last = _Recordings(), label
                    lang = languages[label]
                    rng = clip_rng(seed, f"tuxpaint:{stamp}:{lang}")
                    parts, stamps = [read(path)], [stamp]
                    if fill:
                        others = [item for item in pools[label][side] if item[0] != stamp]
                        for k in rng.permutation(len(others)).tolist():
                            if sum(map(len, parts)) >= limit:
                                break
                            parts += [np.zeros(round(rng.uniform(0.1, 0.3) * SAMPLE_RATE), np.float32)]
                            parts.append(read(others[k][1]))
                            stamps.append(others[k][0])
                    audio = np.concatenate(parts)[:limit]
                    clip_id = f"tuxpaint:{'+'.join(stamps)}:{lang}"
                    audio = with_noise_floor(audio, rng, length=limit, snr_db=snr, recipe=recipe)[0]
                    clips.append(Clip(peak_normalize(audio), label, f"tuxpaint-{lang}", groups[stamp], clip_id))
                    advance(1)
                splits[side] = clips_to_dataset(clips, languages, side)
        info = {
            "description": (
                f"VoxForge-like: Tux Paint recorded stamp descriptions, {len(languages)} languages, "
                "split by stamp group"
            ),
            "root": str(stamps_dir),
            "groups": len(names),
            "test_groups": int(sum(in_test.values())),
            "snr_db": list(snr),
            "noise_floor": noise_floor,
        }
        return AudioCorpus("langid", splits["train"], splits["test"], languages, info=info)

    return CorpusPlan(key, build)
