"""Gated cross-attention dense blocks and the token -> media binding ("latest preceding image").

Each token attends only to the latents of its bound media item. Instead of attending to every
media item of its sample through a boolean mask (which also rules out the fused attention
kernels), the queries are packed per media item: row m of the packed tensor holds the tokens
bound to media m, which attend to m's latents alone, without any mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from model.layers import CrossAttention, GeluMLP


def media_index(input_ids: torch.Tensor, image_id: int) -> torch.Tensor:
    """Per token, the sample-local index of the latest `<image>` at or before it; -1 before the first."""
    return torch.cumsum(input_ids == image_id, dim=1) - 1


@dataclass
class MediaPlan:
    """Token <-> packed-query routing of one batch, shared by every xattn layer.

    `gather` (M, J): flat token index (b * L + t) of the j-th token bound to media m, or B * L (a
    zero row) where media m has fewer than J tokens. `scatter` (B * L,): the packed slot m * J + j
    of each token, or M * J (a zero row) for tokens before their sample's first `<image>`.
    """

    gather: torch.Tensor
    scatter: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "MediaPlan":
        return MediaPlan(self.gather.to(device, non_blocking=non_blocking),
                         self.scatter.to(device, non_blocking=non_blocking))


def media_plan(input_ids: torch.Tensor, image_id: int, media_per_sample: list[int]) -> MediaPlan:
    """The plan for `input_ids` (B, L) whose sample b holds `media_per_sample[b]` media items.

    Reads one number (the longest span J) back to the host, so collate builds it on the CPU and
    the forward pass on an accelerator never waits for the device.
    """
    b, l = input_ids.shape
    dev = input_ids.device
    tok = media_index(input_ids, image_id)
    pos = torch.arange(l, device=dev).expand(b, l)
    rank = pos - torch.where(input_ids == image_id, pos, -1).cummax(dim=1).values  # offset in its span
    counts = torch.tensor(media_per_sample, device=dev)
    bound = (tok >= 0) & (tok < counts.unsqueeze(1))
    m = int(sum(media_per_sample))
    j = int(torch.where(bound, rank, 0).max()) + 1 if m else 1
    media = (counts.cumsum(0) - counts).unsqueeze(1) + tok
    scatter = torch.where(bound, media * j + rank, m * j).flatten()
    gather = torch.full((m * j + 1,), b * l, dtype=torch.long, device=dev)
    gather.scatter_(0, scatter, torch.arange(b * l, device=dev))  # unbound tokens land in the dropped last slot
    return MediaPlan(gather[:-1].view(m, j), scatter)


def _with_zero_row(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, x.new_zeros(1, x.shape[1])])


class GatedXAttnDense(nn.Module):
    """Flamingo block: h += tanh(a) * xattn(h, media); h += tanh(b) * ffw(h); gates start at 0."""

    def __init__(self, dim: int, media_dim: int, heads: int, head_dim: int, ff_mult: int) -> None:
        super().__init__()
        self.norm_attn, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CrossAttention(dim, media_dim, heads, head_dim)
        self.ff = GeluMLP(dim, ff_mult * dim)
        self.attn_gate = nn.Parameter(torch.zeros(1))
        self.ff_gate = nn.Parameter(torch.zeros(1))

    def forward(self, h: torch.Tensor, media: torch.Tensor | None, plan: MediaPlan | None) -> torch.Tensor:
        """`h` (B, L, dim); `media` (M, N, media_dim) latents of every media item of the batch.

        Tokens with no preceding media read the appended zero row: no attention output."""
        if media is not None and plan is not None:
            x = _with_zero_row(self.norm_attn(h).flatten(0, 1))
            q = x.index_select(0, plan.gather.flatten()).view(*plan.gather.shape, -1)
            y = _with_zero_row(self.attn(q, media).flatten(0, 1)).index_select(0, plan.scatter)
            h = torch.addcmul(h, self.attn_gate.tanh(), y.view_as(h))
        return torch.addcmul(h, self.ff_gate.tanh(), self.ff(self.norm_ff(h)))
