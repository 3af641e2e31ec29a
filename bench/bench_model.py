"""Forward+backward time of the fixed bench config, fp32 and bf16 autocast, alternating A/B.

LM LLaMA-style d=256 x 4 layers, 4 heads, FFN 1024, vocab 8,197; ViT 224 px / patch 32, width 128,
2 layers; perceiver depth 6, 64 latents, 8 heads x 64; xattn every layer; batch 2 x 256 tokens x
5 images. The two precisions take turns step by step, so a change in the machine's load hits both;
prints the median of each (wall and CPU seconds), tokens/s and their ratios. OpenFlamingo on the
same config and in the same run: `make bench-openflamingo` (bench/bench_openflamingo.py).

    OMP_WAIT_POLICY=PASSIVE python bench/bench_model.py --threads 2 [--device cuda] [--compile]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from model import precision
from model.config import bench
from model.flamingo import Batch, Flamingo, build_model

IMAGE_ID, EOC_ID = 4, 5
SEQ, BATCH, IMAGES = 256, 2, 5


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


def ours(device: torch.device, compile_: bool = False) -> tuple[Flamingo, Batch]:
    """Our model on the bench config and its fixed batch."""
    torch.manual_seed(0)
    cfg = bench()
    model = build_model(cfg, IMAGE_ID, EOC_ID).to(device).train()
    if compile_:
        model.compile_blocks()
    batch = make_batch(cfg.lm.vocab_size, BATCH, SEQ, IMAGES, cfg.vision.image_size, torch.Generator().manual_seed(0))
    return model, batch.to(device)


def ours_step(model: Flamingo, batch: Batch, bf16: bool) -> Callable[[], float]:
    """One fwd+bwd of our model; returns the loss (reading it waits for the device)."""
    def step() -> float:
        with torch.autocast(batch.input_ids.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(batch)
        loss.backward()
        model.zero_grad(set_to_none=True)
        return float(loss.detach())
    return step


def auto_line(device: torch.device) -> str:
    """What `--precision auto` of model.train / model.eval picks on `device`, and why."""
    return f"--precision {precision.resolve('auto', device)[1]}"


def alternate(steps: dict[str, Callable[[], float]], n: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    """Runs the named steps in turn `warmup + n` times; per name the last `n` (wall, CPU) seconds.

    CPU seconds are this process's (all its threads): on a shared machine they move less with the
    other jobs' load than wall time does, which waits whenever one of our threads is descheduled."""
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in steps}
    for i in range(warmup + n):
        for name, fn in steps.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            if i >= warmup:
                times[name].append((time.perf_counter() - t0, time.process_time() - c0))
    return times


def table(times: dict[str, list[tuple[float, float]]], base: str) -> str:
    """Per row: median and fastest wall seconds, tokens/s, median CPU seconds, and the medians
    relative to `base`'s (wall, CPU)."""
    def med(name: str, k: int) -> float:
        return statistics.median(t[k] for t in times[name])

    rows = [f"{'':<20}{'median s':>9}{'min s':>8}{'tokens/s':>9}{'cpu s':>8}"
            f"{'wall vs ' + base:>{len(base) + 11}}{'cpu vs':>8}"]
    for name, ts in times.items():
        wall, cpu = med(name, 0), med(name, 1)
        rows.append(f"{name:<20}{wall:>9.3f}{min(t[0] for t in ts):>8.3f}{BATCH * SEQ / wall:>9,.0f}{cpu:>8.3f}"
                    f"{wall / med(base, 0):>{len(base) + 10}.2f}x{cpu / med(base, 1):>7.2f}x")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    model, batch = ours(dev, args.compile)
    times = alternate({"ours fp32": ours_step(model, batch, False), "ours bf16": ours_step(model, batch, True)},
                      args.steps, args.warmup)
    n_trainable = sum(p.numel() for _, p in model.trainable_named_parameters())
    print(f"config: bench (trainable params {n_trainable:,}), device {dev}, threads {args.threads}, "
          f"{args.steps} alternating steps each{', compiled' if args.compile else ''}")
    print(table(times, "ours fp32"))
    print(auto_line(dev))


if __name__ == "__main__":
    main()
