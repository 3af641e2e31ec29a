"""Ours and OpenFlamingo 2.0.1 (fp32, bf16 autocast) on the same config, in one process, A/B.

Run by `make bench-openflamingo`, which builds its own venv (open-flamingo 2.0.1 without its
dependencies, which pin torch 2.0.1; the same CPU torch as ours; transformers; einops).
OpenFlamingo is assembled the way its factory does it, from randomly initialised parts of the
bench config (no hub downloads). Its package `__init__` imports the factory, which imports
open_clip, which imports torchvision, and PyPI's torchvision only loads with a CUDA torch; the
factory only downloads and wires pretrained parts, so it is skipped (`_import_openflamingo`) and
the vision tower is a Hugging Face CLIP ViT of the same shape (224 px, patch 32, width 128,
2 layers, 4 heads) returning its patch tokens, as open_clip's `output_tokens` does. They feed
OpenFlamingo's own Perceiver Resampler (depth 6, 64 latents, 8 heads x 64), a Hugging Face
LLaMA (d=256 x 4 layers, 4 heads, FFN 1024, vocab 8,197) turned into a FlamingoLM with gated
cross-attention before every layer; frozen backbones, trainable perceiver, xattn and input
embeddings, as its factory sets them. Same batch: 2 x 256 tokens x 5 images. Every model takes
one fwd+bwd step in turn (each precision its own row), so load changes on a shared machine hit all of them alike.
"""
from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_model import BATCH, EOC_ID, IMAGE_ID, IMAGES, SEQ, alternate, auto_line, make_batch, ours, ours_step, table  # noqa: E402

from model.config import bench  # noqa: E402
from model.flamingo import Batch  # noqa: E402


def _import_openflamingo() -> None:
    """Registers the `open_flamingo` package without running its `__init__` (see the docstring)."""
    import importlib.util

    spec = importlib.util.find_spec("open_flamingo")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("open-flamingo is not installed: run `make bench-openflamingo`")
    pkg = types.ModuleType("open_flamingo")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("open_flamingo", pkg)


class PatchTokens(torch.nn.Module):
    """What OpenFlamingo reads from its vision encoder: `visual(x)[1]`, the patch tokens."""

    def __init__(self, vit: torch.nn.Module) -> None:
        super().__init__()
        self.vit = vit

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.vit(pixel_values=x).last_hidden_state
        return h[:, 0], h[:, 1:]


def openflamingo() -> torch.nn.Module:
    """OpenFlamingo's Flamingo on the bench config, frozen and unfrozen as its factory does."""
    _import_openflamingo()
    from open_flamingo.src.flamingo import Flamingo
    from open_flamingo.src.flamingo_lm import FlamingoLMMixin
    from open_flamingo.src.utils import extend_instance
    from transformers import CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

    cfg = bench()
    torch.manual_seed(0)
    v = cfg.vision
    clip = types.SimpleNamespace(visual=PatchTokens(CLIPVisionModel(CLIPVisionConfig(
        hidden_size=v.width, intermediate_size=4 * v.width, num_hidden_layers=v.layers,
        num_attention_heads=v.heads, image_size=v.image_size, patch_size=v.patch))))  # Flamingo takes `.visual`
    lm_cfg = cfg.lm
    lm = LlamaForCausalLM(LlamaConfig(
        vocab_size=lm_cfg.vocab_size, hidden_size=lm_cfg.dim, intermediate_size=lm_cfg.ffn_dim,
        num_hidden_layers=lm_cfg.n_layers, num_attention_heads=lm_cfg.n_heads, num_key_value_heads=lm_cfg.n_heads,
        max_position_embeddings=SEQ, tie_word_embeddings=False))
    extend_instance(lm, FlamingoLMMixin)
    lm.set_decoder_layers_attr_name("model.layers")
    model = Flamingo(clip, lm, EOC_ID, IMAGE_ID, vis_dim=v.width, cross_attn_every_n_layers=cfg.xattn_every)
    model.requires_grad_(False)
    model.perceiver.requires_grad_(True)
    model.lang_encoder.gated_cross_attn_layers.requires_grad_(True)
    model.lang_encoder.get_input_embeddings().requires_grad_(True)
    return model.train()


def openflamingo_step(model: torch.nn.Module, batch: Batch, bf16: bool) -> Callable[[], float]:
    """One fwd+bwd of OpenFlamingo on our batch (its images as (B, T_img, F=1, C, H, W)), under
    the same bf16 autocast as ours when `bf16` (its training script's `amp_bf16`)."""
    vision_x = batch.frames.view(BATCH, IMAGES, 1, *batch.frames.shape[1:])
    mask = torch.ones_like(batch.input_ids)

    def step() -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(vision_x, batch.input_ids, attention_mask=mask, labels=batch.labels).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        return float(loss.detach())
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true", help="skip both models under bf16 autocast (slow on AVX2-only CPUs)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, batch = ours(torch.device("cpu"))
    cfg = bench()
    # OpenFlamingo's LM shifts the labels itself: give it the token ids with <image> targets ignored
    of_labels = batch.input_ids.clone()
    of_labels[of_labels == IMAGE_ID] = -100
    of_batch = make_batch(cfg.lm.vocab_size, BATCH, SEQ, IMAGES, cfg.vision.image_size,
                          torch.Generator().manual_seed(0))
    of_batch.labels = of_labels
    of = openflamingo()
    steps = {"ours fp32": ours_step(model, batch, False)}
    if not args.no_bf16:
        steps["ours bf16"] = ours_step(model, batch, True)
    steps["OpenFlamingo fp32"] = openflamingo_step(of, of_batch, False)
    if not args.no_bf16:
        steps["OpenFlamingo bf16"] = openflamingo_step(of, of_batch, True)
    times = alternate(steps, args.steps, args.warmup)
    n_of = sum(p.numel() for p in of.parameters() if p.requires_grad)
    n_ours = sum(p.numel() for _, p in model.trainable_named_parameters())
    print(f"config: bench, cpu, threads {args.threads}, {args.steps} alternating steps each; trainable params "
          f"ours {n_ours:,}, OpenFlamingo {n_of:,} (its whole input embedding)")
    print(table(times, "OpenFlamingo fp32"))
    print(auto_line(torch.device("cpu")))


if __name__ == "__main__":
    main()
