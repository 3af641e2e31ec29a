"""fp32 against bf16 autocast: the same training run (tiny config, same seed and data) both ways,
against the seed-to-seed spread of fp32.

    python bench/bench_precision.py --data out/m3w --steps 200 [--device cuda]

Three runs: fp32 and bf16 with seed 0 (same initial weights, same batches), and fp32 with seed 1
(other weights and batch order: the noise a loss difference has to be compared with). Prints the
training losses averaged over blocks of `--every` steps, and over the last `--tail` steps the
mean |bf16 - fp32| of the same-seed runs next to the mean |fp32 seed 1 - fp32 seed 0|. On CPUs
without native bf16 matmuls (AVX2) bf16 autocast is ~16x slower than fp32, so there
`--batch-size 4 --max-tokens 128` keeps the three runs within minutes.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from model import precision
from model.train import main as train_main


def run(args: argparse.Namespace, precision: str, seed: int, out: Path) -> list[float]:
    """Per-step training losses of one tiny run (`make train` settings)."""
    history = train_main(["--data", f"m3w={args.data}:1.0", "--config", "tiny", "--steps", str(args.steps),
                          "--lr", "5e-3", "--warmup", "50", "--batch-size", str(args.batch_size),
                          "--max-tokens", str(args.max_tokens), "--gate-lr-mult", "10", "--perceiver-lr-mult", "0.2",
                          "--threads", str(args.threads), "--device", args.device, "--precision", precision,
                          "--seed", str(seed), "--ckpt-every", str(args.steps), "--out", str(out)])
    return [h["loss"] for h in history]


def mean_abs_diff(a: list[float], b: list[float]) -> float:
    return statistics.mean(abs(x - y) for x, y in zip(a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("out/m3w"))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--tail", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    runs = {"fp32": ("fp32", 0), "bf16": ("bf16", 0), "fp32 seed 1": ("fp32", 1)}
    with tempfile.TemporaryDirectory() as tmp:
        losses = {name: run(args, p, s, Path(tmp) / name.replace(" ", "-")) for name, (p, s) in runs.items()}
    print(f"tiny config, batch {args.batch_size} x {args.max_tokens} tokens, {args.steps} steps, {args.device}; "
          f"--precision {precision.resolve('auto', torch.device(args.device))[1]}")
    print(f"{'steps':>10}{'fp32':>9}{'bf16':>9}{'bf16-fp32':>11}{'fp32 s1':>9}{'s1-s0':>9}")
    for s in range(0, args.steps, args.every):
        a, b, c = (statistics.mean(losses[k][s: s + args.every]) for k in runs)
        n = len(losses["fp32"][s: s + args.every])
        print(f"{s + 1:>4}-{s + n:<5}{a:>9.4f}{b:>9.4f}{b - a:>+11.4f}{c:>9.4f}{c - a:>+9.4f}")
    tail = {k: v[-args.tail:] for k, v in losses.items()}
    print(f"last {args.tail} steps: mean loss fp32 {statistics.mean(tail['fp32']):.4f}, "
          f"bf16 {statistics.mean(tail['bf16']):.4f}, fp32 seed 1 {statistics.mean(tail['fp32 seed 1']):.4f}")
    print(f"mean |bf16 - fp32| per step {mean_abs_diff(tail['bf16'], tail['fp32']):.4f} vs seed-to-seed "
          f"mean |fp32 s1 - fp32 s0| {mean_abs_diff(tail['fp32 seed 1'], tail['fp32']):.4f}")


if __name__ == "__main__":
    main()
