"""Forward+backward time of the fixed bench config (compare with OpenFlamingo's 0.38 s, 2 threads).

LM LLaMA-style d=256 x 4 layers, 4 heads, FFN 1024, vocab 8,197; ViT 224 px / patch 32, width 128,
2 layers; perceiver depth 6, 64 latents, 8 heads x 64; xattn every layer; batch 2 x 256 tokens x
5 images; fp32. Prints the median over `--steps` steps (after warm-up) and tokens/s.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from model.config import bench
from model.flamingo import Batch, build_model

IMAGE_ID, EOC_ID = 4, 5


def make_batch(vocab: int, batch: int, seq: int, images: int, size: int, gen: torch.Generator) -> Batch:
    """Random tokens with `images` `<image>` markers per sample, spread over the window."""
    ids = torch.randint(6, vocab, (batch, seq), generator=gen)
    for b in range(batch):
        for i in range(images):
            pos = i * seq // images
            ids[b, pos] = IMAGE_ID
            if pos > 0:
                ids[b, pos - 1] = EOC_ID
    labels = ids.clone()
    labels[ids == IMAGE_ID] = -100
    frames = torch.randn(batch * images, 3, size, size, generator=gen)
    return Batch(ids, labels, frames, [1] * (batch * images), [images] * batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = bench()
    model = build_model(cfg, IMAGE_ID, EOC_ID).train()
    batch = make_batch(cfg.lm.vocab_size, 2, 256, 5, cfg.vision.image_size, torch.Generator().manual_seed(0))
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        model.loss(batch).backward()
        dt = time.perf_counter() - t0
        model.zero_grad(set_to_none=True)
        if step >= args.warmup:
            times.append(dt)
    med = statistics.median(times)
    n_trainable = sum(p.numel() for _, p in model.trainable_named_parameters())
    print(f"config: bench (trainable params {n_trainable:,}), threads {args.threads}, steps {len(times)}")
    print(f"median fwd+bwd: {med:.3f} s  ({2 * 256 / med:,.0f} tokens/s)  [OpenFlamingo: 0.38 s]")


if __name__ == "__main__":
    main()
