"""Perceiver Resampler: a media item's frame features -> a fixed number of visual tokens."""
from __future__ import annotations

import torch
from torch import nn

from model.config import PerceiverConfig
from model.layers import CrossAttention, GeluMLP


class PerceiverLayer(nn.Module):
    """Latents attend to [media features; latents], then a feed-forward, both residual."""

    def __init__(self, cfg: PerceiverConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.norm_media, self.norm_latents, self.norm_ff = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CrossAttention(d, d, cfg.heads, cfg.head_dim)
        self.ff = GeluMLP(d, cfg.ff_mult * d)

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        q = self.norm_latents(latents)
        latents = latents + self.attn(q, torch.cat([self.norm_media(x), q], dim=1))
        return latents + self.ff(self.norm_ff(latents))


class PerceiverResampler(nn.Module):
    """Maps (M, T, P, vision_width) features to (M, num_latents, dim) with learned temporal embeddings."""

    def __init__(self, cfg: PerceiverConfig, vision_width: int) -> None:
        super().__init__()
        self.proj = nn.Identity() if vision_width == cfg.dim else nn.Linear(vision_width, cfg.dim)
        self.latents = nn.Parameter(torch.randn(cfg.num_latents, cfg.dim) * 0.02)
        self.temporal = nn.Parameter(torch.randn(cfg.max_frames, cfg.dim) * 0.02)
        self.layers = nn.ModuleList([PerceiverLayer(cfg) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        m, t, p, _ = feats.shape
        x = self.proj(feats) + self.temporal[:t, None, :]
        x = x.reshape(m, t * p, -1)
        latents = self.latents.expand(m, -1, -1)
        for layer in self.layers:
            latents = layer(x, latents)
        return self.norm(latents)
