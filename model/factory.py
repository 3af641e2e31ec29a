"""Builds the tokenizer and the Flamingo model that go together for a config."""
from __future__ import annotations

from pathlib import Path

from model.config import FlamingoConfig
from model.flamingo import Flamingo, build_model
from model.lm import build_lm, smollm2_gguf
from model.tokenizer import HFTokenizer, MarkerTokenizer, SPTokenizer


def build(cfg: FlamingoConfig, tokenizer_file: Path | None) -> tuple[MarkerTokenizer, Flamingo]:
    """Random backbones use the sentencepiece `tokenizer_file` (its vocabulary sizes the LM);
    Hugging Face backbones bring their own tokenizer, extended with `<image>` and `<EOC>`."""
    if cfg.lm.kind == "tiny":
        if tokenizer_file is None:
            raise ValueError("the tiny LM needs a sentencepiece tokenizer (dataset.json or --tokenizer)")
        tok: MarkerTokenizer = SPTokenizer(tokenizer_file)
        if cfg.lm.vocab_size == 0:
            cfg.lm.vocab_size = tok.vocab_size
        if tok.vocab_size > cfg.lm.vocab_size:
            raise ValueError(f"tokenizer vocabulary {tok.vocab_size} exceeds the LM's {cfg.lm.vocab_size}")
        return tok, build_model(cfg, tok.image_id, tok.eoc_id)
    lm = build_lm(cfg.lm)
    folder, gguf = smollm2_gguf(cfg.lm.path) if cfg.lm.kind == "smol" else (cfg.lm.path, None)
    tok = HFTokenizer(folder, gguf, lm.vocab_size)
    cfg.lm.dim, cfg.lm.n_layers, cfg.lm.vocab_size = lm.dim, lm.n_layers, lm.vocab_size
    return tok, build_model(cfg, tok.image_id, tok.eoc_id, lm)
