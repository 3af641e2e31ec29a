"""fp32 against bf16 autocast: the same training run (tiny config, same seed and data) both ways.

    python bench/bench_precision.py --data out/m3w --steps 200 [--device cuda]

Prints the training loss of both runs averaged over blocks of `--every` steps and their
difference; bf16 should track fp32 within the step-to-step noise (printed alongside: the standard
deviation of the fp32 losses within each block).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from model.train import main as train_main


def run(data: Path, steps: int, precision: str, device: str, threads: int, out: Path) -> list[float]:
    """Per-step training losses of one tiny run (`make train` settings, batch 8)."""
    history = train_main(["--data", f"m3w={data}:1.0", "--config", "tiny", "--steps", str(steps), "--lr", "5e-3",
                          "--warmup", "50", "--batch-size", "8", "--gate-lr-mult", "10", "--perceiver-lr-mult", "0.2",
                          "--threads", str(threads), "--device", device, "--precision", precision,
                          "--ckpt-every", str(steps), "--out", str(out)])
    return [h["loss"] for h in history]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("out/m3w"))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        losses = {p: run(args.data, args.steps, p, args.device, args.threads, Path(tmp) / p) for p in ("fp32", "bf16")}
    print(f"{'steps':>10}{'fp32':>9}{'bf16':>9}{'bf16-fp32':>11}{'fp32 sd':>9}")
    for s in range(0, args.steps, args.every):
        a, b = losses["fp32"][s: s + args.every], losses["bf16"][s: s + args.every]
        sd = statistics.stdev(a) if len(a) > 1 else 0.0
        print(f"{s + 1:>4}-{s + len(a):<5}{statistics.mean(a):>9.4f}{statistics.mean(b):>9.4f}"
              f"{statistics.mean(b) - statistics.mean(a):>+11.4f}{sd:>9.4f}")


if __name__ == "__main__":
    main()
