"""The real DABS datasets (Tamkin et al. 2021, alextamkin/dabs), for users with internet or a local copy.

Each loader fails with one :class:`DomainDataError` naming the dataset, its source and what it
needs (internet, a local folder, an option). Sizes follow the preset's ``data`` options as the
offline domains do (``pretrain_samples``, ``eval_train_samples``, ``eval_test_samples``); a
``None`` loads a whole split, which for the image and speech sets means tens of GB of float
tensors: cap them. ``data.hub_ids`` overrides a source below (a Hugging Face ``repo`` or
``[repo, config]``, or the PAMAP2 URL); ``data.hub_roots`` maps a dataset name to a local
folder in DABS's layout.

===========  ========================================================================================
cifar10      HF ``uoft-cs/cifar10``: 4x4 patches of 32 px; evaluation on its test split
wikitext103  HF ``Salesforce/wikitext`` (pretraining) with ``stanfordnlp/sst2`` (evaluation)
librispeech  HF ``openslr/librispeech_asr`` ("clean"): pretraining on ``train.100``; evaluation on
             DABS's ``librispeech_transfer`` (dev-clean speaker ID) and, with ``extra_tasks``,
             Speech Commands v0.02 (``google/speech_commands``); DABS's 224x224 log-mel
pamap2       the UCI zip DABS downloads (cached under ``cache_root()/dabs``), or ``hub_roots.pamap2``
chexpert     ``hub_roots.chexpert`` only (CheXpert needs registration)
mscoco       ``hub_roots.mscoco`` only (COCO 2017 images + annotations, DABS's layout)
===========  ========================================================================================

The input specs (sizes, patches, windows, subjects, labels, normalizations) are DABS's, read
from its ``src/datasets``; where a loader departs from DABS (deterministic windows and crops
instead of random ones, single-label tasks for multi-label CheXpert) its docstring says so.

One module per dataset (:mod:`.cifar10`, :mod:`.wikitext103`, :mod:`.librispeech` with Speech
Commands, :mod:`.pamap2`, :mod:`.chexpert`, :mod:`.mscoco`), each registering its domain, and
:mod:`.sources` for what they share (hub ids, local roots, downloads, the error). Importing this
package registers them all; the loaders themselves are reached through
:func:`~modalities.dabs.domains.load_domain` (``hub.<dataset>`` is the module).
"""

from __future__ import annotations

from . import chexpert, cifar10, librispeech, mscoco, pamap2, wikitext103  # noqa: F401  (each registers its domain)
from .chexpert import CHEXPERT_LABELS, CHEXPERT_URL, read_chexpert_csv
from .librispeech import (
    LIBRISPEECH_NORM,
    LIBRISPEECH_SPLITS,
    SPEECH_COMMANDS_LABELS,
    SPEECH_COMMANDS_NORM,
    SPEECH_FFT,
    SPEECH_HOP,
    SPEECH_MELS,
    SPEECH_RATE,
    SPEECH_SAMPLES,
    dabs_spectrogram,
    librispeech_speaker_split,
)
from .mscoco import BERT_VOCAB, COCO_DOWNLOADS, COCO_FILES, mismatch_captions, read_coco
from .pamap2 import PAMAP2_ACTIVITIES, PAMAP2_COLUMNS, PAMAP2_SUBJECTS, pamap2_windows, read_pamap2
from .sources import HUB_IDS, OFFLINE_HINT, hub_sources, local_root, unavailable

__all__ = [
    "BERT_VOCAB",
    "CHEXPERT_LABELS",
    "CHEXPERT_URL",
    "COCO_DOWNLOADS",
    "COCO_FILES",
    "HUB_IDS",
    "LIBRISPEECH_NORM",
    "LIBRISPEECH_SPLITS",
    "OFFLINE_HINT",
    "PAMAP2_ACTIVITIES",
    "PAMAP2_COLUMNS",
    "PAMAP2_SUBJECTS",
    "SPEECH_COMMANDS_LABELS",
    "SPEECH_COMMANDS_NORM",
    "SPEECH_FFT",
    "SPEECH_HOP",
    "SPEECH_MELS",
    "SPEECH_RATE",
    "SPEECH_SAMPLES",
    "dabs_spectrogram",
    "hub_sources",
    "librispeech_speaker_split",
    "local_root",
    "mismatch_captions",
    "pamap2_windows",
    "read_chexpert_csv",
    "read_coco",
    "read_pamap2",
    "unavailable",
]
