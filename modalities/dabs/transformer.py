"""The domain-agnostic Transformer over token embeddings (DABS's encoder, paper Section 5.4).

As DABS's ``DomainAgnosticTransformer`` (alextamkin/dabs ``src/models/transformer.py`` and
``conf/model/transformer.yaml`` lines 4-13, commit 72657bc; line numbers below are of the ``.py``):

* a learned CLS token is prepended and learned positional embeddings are added, both drawn from
  ``N(0, 1)`` (lines 120-121, 133-135); dropout (``emb_dropout`` = 0.1 in the config) on the sum (line 138);
* ``depth`` pre-norm blocks ``x = attn(LN(x)) + x; x = mlp(LN(x)) + x`` (lines 12-21, 84-88);
* attention projects to ``heads x head_dim`` (``dim_head`` = 64), not to ``dim``: ``to_qkv`` is
  ``Linear(dim, 3 * heads * 64, bias=False)`` (line 49), softmax of ``q k^T / sqrt(64)`` (lines
  46, 59-61), no dropout on the attention weights, then ``Linear(heads * 64, dim)`` + dropout
  (line 51; the identity when ``heads == 1`` and ``head_dim == dim``, line 43);
* MLP ``Linear(dim, mlp_dim)``, GELU, dropout, ``Linear(mlp_dim, dim)``, dropout (lines 24-34);
* features: mean over all ``L + 1`` tokens (``pool="mean"``, DABS's default) or the CLS token
  (line 144), with no LayerNorm before pooling (DABS's only other LayerNorm is in its projection
  head, lines 125-128, which rqbench's methods supply themselves).

At dim 256, depth 12, 8 heads, MLP 512 the blocks hold 9,461,760 parameters (the CLS token and
positions add ``256 (L + 2)``: 9.48M for DABS's 64-token 32 x 32 images).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """DABS's self-attention: explicit q/k/v projections to ``heads * head_dim`` (not to ``dim``).

    Args:
        dim: token width. heads, head_dim: attention heads and their width (DABS: 8, 64).
        dropout: dropout after the output projection (none on the attention weights, as DABS).
    """

    def __init__(self, dim: int, heads: int = 8, head_dim: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        project = not (heads == 1 and head_dim == dim)
        self.to_out: nn.Module = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout)) if project else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """``(B, N, dim) -> (B, N, dim)``: softmax(q k^T / sqrt(head_dim)) v per head, heads concatenated."""
        b, n, _ = x.shape
        q, k, v = self.to_qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)  # scale 1 / sqrt(head_dim), no dropout
        out = self.to_out(out.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))
        return out


class Block(nn.Module):
    """One pre-norm Transformer block: ``x + attn(LN(x))``, then ``x + mlp(LN(x))`` (GELU MLP, dropout)."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, head_dim, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TokenTransformer(nn.Module):
    """``(B, L, D)`` token embeddings -> ``(B, D)`` features.

    Args:
        length: maximum number of tokens ``L`` (positional embeddings for ``L + 1``).
        dim, depth, heads, mlp_dim, dropout: the encoder (paper: 256, 12, 8, 512, 0.1).
        pool: ``"mean"`` or ``"cls"``.
        head_dim: width of each attention head (DABS: 64, whatever ``dim``).
        emb_dropout: dropout on CLS + tokens + positions; ``None``: ``dropout`` (DABS's config: both 0.1).
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
        head_dim: int = 64,
        emb_dropout: float | None = None,
    ) -> None:
        super().__init__()
        if pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
        if min(dim, depth, heads, head_dim, mlp_dim) < 1:
            sizes = (dim, depth, heads, head_dim, mlp_dim)
            raise ValueError(f"dim, depth, heads, head_dim, mlp_dim must be >= 1, got {sizes}")
        self.length, self.dim, self.pool = length, dim, pool
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))  # N(0, 1) as DABS
        self.pos_embedding = nn.Parameter(torch.randn(1, length + 1, dim))
        self.dropout = nn.Dropout(dropout if emb_dropout is None else emb_dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, head_dim, mlp_dim, dropout) for _ in range(depth))

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
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return x.mean(dim=1) if self.pool == "mean" else x[:, 0]


__all__ = ["Attention", "Block", "TokenTransformer"]
