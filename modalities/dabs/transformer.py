"""The domain-agnostic Transformer over token embeddings (DABS's encoder, paper Section 5.4).

As DABS's ``DomainAgnosticTransformer``: a learned CLS token is prepended, learned positional
embeddings are added, then pre-norm Transformer blocks (GELU MLP, dropout); features are the
mean over all tokens (``pool="mean"``, DABS's default) or the CLS token (``pool="cls"``), after a
final LayerNorm. DABS's attention uses 64-d heads (inner width heads x 64); here the inner width
equals ``dim`` (PyTorch's ``TransformerEncoderLayer``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TokenTransformer(nn.Module):
    """``(B, L, D)`` token embeddings -> ``(B, D)`` features.

    Args:
        length: maximum number of tokens ``L`` (positional embeddings for ``L + 1``).
        dim, depth, heads, mlp_dim, dropout: the encoder (paper: 256, 12, 8, 512, 0.1).
        pool: ``"mean"`` or ``"cls"``.
    """

    def __init__(
        self,
        length: int,
        dim: int = 256,
        depth: int = 12,
        heads: int = 8,
        mlp_dim: int = 512,
        dropout: float = 0.1,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.length, self.dim, self.pool = length, dim, pool
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embedding = nn.Parameter(torch.randn(1, length + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, mlp_dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.ndim != 3 or tokens.shape[2] != self.dim:
            raise ValueError(f"expected token embeddings (B, L, {self.dim}), got shape {tuple(tokens.shape)}")
        b, n, _ = tokens.shape
        if n > self.length:
            raise ValueError(f"{n} tokens exceed the encoder's maximum length {self.length}")
        x = (
            torch.cat([self.cls_token.expand(b, -1, -1).to(tokens.dtype), tokens], dim=1)
            + self.pos_embedding[:, : n + 1]
        )
        x = self.norm(self.blocks(x))
        return x.mean(dim=1) if self.pool == "mean" else x[:, 0]


__all__ = ["TokenTransformer"]
