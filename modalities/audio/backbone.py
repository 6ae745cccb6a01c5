"""BYOL-A's lightweight audio encoder (AudioNTT2020) and the batch post-normalization in front of it.

:class:`AudioNTT2020` is the 2-D CNN of BYOL-A (Niizumi, Takeuchi, Ohishi, Harada & Kashino,
"BYOL for Audio: Self-Supervised Learning for General-Purpose Audio Representation", IJCNN
2021), itself derived from the DCASE 2020 Task 6 audio captioning encoder of the same group.
The paper (Wu et al. 2023, Section 5.3) uses it unchanged as the audio backbone:

* three blocks ``Conv2d(3 x 3, padding 1) - BatchNorm2d - ReLU - MaxPool2d(2)`` with 64 channels
  on a log-mel ``(B, 1, n_mels, T)``; the output ``(B, 64, n_mels / 8, T / 8)`` is read as a
  sequence over time of ``64 * n_mels / 8`` features (512 for 64 mel bands), flattened in
  (mel, channel) order as BYOL-A does, so BYOL-A's weights map one to one;
* a frame-wise MLP ``Linear(512, d) - ReLU - Dropout(0.3) - Linear(d, d) - ReLU``;
* the clip embedding is the **mean plus the max over time** of those frames: ``d`` = 2048 in
  BYOL-A. Any number of frames ``T >= 8`` works, so a whole clip can be embedded at once.

:class:`PostNorm` is BYOL-A's post-normalization ("Normalize Batch": ``(x - mean) / std`` with
the statistics of the whole *batch*, per channel over batch, frequency and time). BYOL-A applies
it as the last augmentation step, after mixup and the random resized crop. In rqbench the
channel-stage augmentation (RQ, mixup...) runs after the modality's views, *inside the trainer*,
so the post-normalization cannot be a view; it is instead the first, parameter-free layer of the
backbone (:class:`AudioEncoder`). The encoder therefore sees exactly BYOL-A's inputs: pre-norm
-> views -> channel-stage augmentation -> post-norm -> CNN. In **eval mode** :class:`PostNorm`
is the identity: as in BYOL-A's downstream protocol, evaluation inputs are standardized with
fixed dataset statistics (see :mod:`modalities.audio.modality`) and never with batch statistics,
so a clip's embedding never depends on the other clips of its batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["AudioEncoder", "AudioNTT2020", "PostNorm", "audio_encoder"]


class PostNorm(nn.Module):
    """BYOL-A's post-normalization: ``(x - mean) / std`` over the batch, per channel (training mode).

    The statistics are taken over every axis but ``channel_dim`` (for ``(B, 1, F, T)`` log-mels:
    one mean and one standard deviation per batch). The standard deviation is the unbiased one,
    floored at ``eps``. Parameter-free. In eval mode the input passes through unchanged (see the
    module docstring).

    Args:
        channel_dim: the channel axis (1 for ``(B, C, F, T)``).
        eps: smallest standard deviation divided by.
    """

    def __init__(self, channel_dim: int = 1, eps: float = float(torch.finfo(torch.float32).eps)) -> None:
        super().__init__()
        self.channel_dim = channel_dim
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        if x.ndim < 2:
            raise ValueError(f"PostNorm needs a batch (B, C, ...), got shape {tuple(x.shape)}")
        dims = [d for d in range(x.ndim) if d != self.channel_dim % x.ndim]
        mean = x.mean(dim=dims, keepdim=True)
        std = x.std(dim=dims, keepdim=True).clamp_min(self.eps)
        return (x - mean) / std

    def extra_repr(self) -> str:
        return f"channel_dim={self.channel_dim}, eps={self.eps:.3g}, eval=identity"


class AudioNTT2020(nn.Module):
    """BYOL-A's AudioNTT2020 encoder (Niizumi et al. 2021): 3 conv blocks, frame MLP, mean + max over time.

    Args:
        n_mels: mel bands of the input (a multiple of 8; 64 in BYOL-A).
        d: embedding width (2048 in BYOL-A).
        channels: convolution channels (64 in BYOL-A).
        dropout: dropout between the two linear layers (0.3 in BYOL-A).

    Input ``(B, 1, n_mels, T)`` with ``T >= 8``; output ``(B, d)``.
    """

    def __init__(self, n_mels: int = 64, d: int = 2048, channels: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        if not isinstance(n_mels, int) or n_mels < 8 or n_mels % 8:
            raise ValueError(f"n_mels must be a positive multiple of 8 (three 2x poolings), got {n_mels!r}")
        if not isinstance(d, int) or d < 1 or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"d and channels must be positive ints, got d={d!r}, channels={channels!r}")
        self.n_mels, self.d, self.channels = n_mels, d, channels
        blocks: list[nn.Module] = []
        for c_in in (1, channels, channels):
            blocks += [
                nn.Conv2d(c_in, channels, 3, padding=1),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
                nn.MaxPool2d(2, stride=2),
            ]
        self.features = nn.Sequential(*blocks)
        self.fc = nn.Sequential(
            nn.Linear(channels * (n_mels // 8), d), nn.ReLU(), nn.Dropout(p=dropout), nn.Linear(d, d), nn.ReLU()
        )

    def frames(self, x: Tensor) -> Tensor:
        """Frame embeddings ``(B, T // 8, d)`` of a log-mel batch ``(B, 1, n_mels, T)``."""
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != self.n_mels:
            raise ValueError(f"AudioNTT2020 expects log-mels (B, 1, {self.n_mels}, T), got shape {tuple(x.shape)}")
        if x.shape[3] < 8:
            raise ValueError(f"AudioNTT2020 needs at least 8 frames (three 2x poolings), got {x.shape[3]}")
        h = self.features(x)  # (B, C, F', T')
        h = h.permute(0, 3, 2, 1)  # (B, T', F', C): frames of (mel, channel) features, BYOL-A's order
        return self.fc(h.reshape(h.shape[0], h.shape[1], -1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.frames(x)
        return h.mean(dim=1) + h.amax(dim=1)

    def extra_repr(self) -> str:
        return f"n_mels={self.n_mels}, d={self.d}, channels={self.channels}"


class AudioEncoder(nn.Module):
    """:class:`PostNorm` then :class:`AudioNTT2020`: the backbone the trainer and the probes see."""

    def __init__(self, net: AudioNTT2020, post_norm: PostNorm | None = None) -> None:
        super().__init__()
        self.post_norm = post_norm if post_norm is not None else PostNorm()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.post_norm(x))


def audio_encoder(
    n_mels: int = 64, d: int = 2048, channels: int = 64, dropout: float = 0.3
) -> tuple[AudioEncoder, int]:
    """A fresh :class:`AudioEncoder` (post-norm + AudioNTT2020) and its embedding width ``d``."""
    return AudioEncoder(AudioNTT2020(n_mels, d, channels, dropout)), d
