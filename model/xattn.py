"""Gated cross-attention dense blocks and the token -> media binding ("latest preceding image")."""
from __future__ import annotations

import torch
from torch import nn

from model.layers import CrossAttention, GeluMLP


def media_index(input_ids: torch.Tensor, image_id: int) -> torch.Tensor:
    """Per token, the sample-local index of the latest `<image>` at or before it; -1 before the first."""
    return torch.cumsum(input_ids == image_id, dim=1) - 1


def media_mask(tok_media: torch.Tensor, n_slots: int, n_latents: int) -> torch.Tensor:
    """Boolean (B, 1, L, n_slots * n_latents): token t sees only the latents of its bound media item.

    Rows of tokens with no preceding media see everything (SDPA needs one key); their output is
    zeroed by the caller.
    """
    slot = torch.arange(n_slots * n_latents, device=tok_media.device) // n_latents
    mask = slot.view(1, 1, -1) == tok_media.unsqueeze(-1)
    return (mask | (tok_media < 0).unsqueeze(-1)).unsqueeze(1)


class GatedXAttnDense(nn.Module):
    """Flamingo block: h += tanh(a) * xattn(h, media); h += tanh(b) * ffw(h); gates start at 0."""

    def __init__(self, dim: int, media_dim: int, heads: int, head_dim: int, ff_mult: int) -> None:
        super().__init__()
        self.norm_attn, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CrossAttention(dim, media_dim, heads, head_dim)
        self.ff = GeluMLP(dim, ff_mult * dim)
        self.attn_gate = nn.Parameter(torch.zeros(1))
        self.ff_gate = nn.Parameter(torch.zeros(1))

    def forward(self, h: torch.Tensor, media: torch.Tensor | None, mask: torch.Tensor | None,
                has_media: torch.Tensor | None) -> torch.Tensor:
        """`media` (B, K, media_dim) per-sample keys; `has_media` (B, L, 1) zeroes unbound tokens."""
        if media is not None:
            y = self.attn(self.norm_attn(h), media, mask) * has_media
            h = h + self.attn_gate.tanh() * y
        return h + self.ff_gate.tanh() * self.ff(self.norm_ff(h))
