"""Backbones that start with an input embedding, for modalities whose channel stage is its output.

Some data (token ids, raw patches of any domain) only becomes a tensor with channels after an
embedding: DABS (Tamkin et al. 2021) turns every domain into a sequence of token embeddings
``(B, L, D)``, and the paper (Section 5.4) applies randomized quantization to those embeddings.
A modality then returns an :class:`EmbeddedBackbone` from ``Modality.backbone``: the method
(:class:`rqbench.methods.base.Method`) keeps the two parts apart, the trainer embeds each view
with :meth:`~rqbench.methods.base.Method.embed` *before* the channel stage, and the method's
branches run only :attr:`EmbeddedBackbone.encoder` on the (augmented) embeddings. Evaluation
probes the whole :class:`EmbeddedBackbone` (raw input -> features). Every other backbone is
used exactly as before.
"""

from __future__ import annotations

from torch import Tensor, nn


class EmbeddedBackbone(nn.Module):
    """``encoder(embedding(x))``: an input embedding followed by an encoder over embeddings.

    Args:
        embedding: maps a raw input batch to the channel-stage tensor (e.g. ``(B, L, D)`` tokens).
            Freeze it (``requires_grad_(False)``) for augmentations without a gradient, as the
            paper does for randomized quantization.
        encoder: maps the (augmented) embeddings to features ``(B, feature_dim)``.
    """

    def __init__(self, embedding: nn.Module, encoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(embedding, nn.Module) or not isinstance(encoder, nn.Module):
            raise TypeError("EmbeddedBackbone needs two torch.nn.Module parts (embedding, encoder)")
        self.embedding = embedding
        self.encoder = encoder

    def forward(self, x: Tensor) -> Tensor:
        """Features of a raw input batch."""
        out: Tensor = self.encoder(self.embedding(x))
        return out


__all__ = ["EmbeddedBackbone"]
