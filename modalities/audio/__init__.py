"""The audio modality's data layer (BYOL-A-style log-mel input, Section 5.3 of the paper).

* :mod:`modalities.audio.features`: read audio files (``soundfile``), resample to 16 kHz and
  compute log-mel spectrograms (``torchaudio``), crop or pad to 0.95 s (64 x 96 log-mels).
* :mod:`modalities.audio.cache`: the corpus registry :data:`~modalities.audio.cache.CORPORA`,
  :func:`~modalities.audio.cache.load_corpus` and the on-disk cache of built corpora, the
  pretraining union :func:`~modalities.audio.cache.pretraining_set`.
* The offline corpora, each in its own module, built reproducibly from Debian packages:
  :mod:`~modalities.audio.notes` (``notes``: GM-soundfont instrument notes, NSynth-like),
  :mod:`~modalities.audio.words` (``words``: espeak-ng / flite spoken words,
  Speech-Commands-like, 35 or 12 classes), :mod:`~modalities.audio.speakers` (``speakers``:
  voice identification, VoxCeleb1-like), :mod:`~modalities.audio.langid` (``langid``: recorded
  Tux Paint stamp descriptions, VoxForge-like language identification).

Nothing heavy is imported here: import the submodule you need.
"""
