"""Held-out evaluation: `python -m model.eval --data m3w=PATH --ckpt RUN_DIR`.

Per dataset: held-out loss (nats/token) and the visual-conditioning gain, the loss with images
shuffled across the samples of each batch (a derangement, so no item keeps its own image) minus
the loss with the true images. A clearly positive gain means the model uses the pictures.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

from model.checkpoint import load_run
from model.data import DatasetInfo, Decoder, collate, heldout_examples, parse_data_arg
from model.flamingo import Batch, Flamingo


def derangement(n: int, gen: torch.Generator) -> torch.Tensor:
    """A random permutation of range(n) without fixed points (n >= 2)."""
    order = torch.randperm(n, generator=gen)
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = order.roll(-1)
    return perm


@torch.no_grad()
def evaluate(model: Flamingo, batches: list[Batch], seed: int = 0) -> dict:
    """Token-weighted held-out loss; true vs shuffled images on batches with >= 2 media items."""
    gen = torch.Generator().manual_seed(seed)
    dev = next(model.parameters()).device
    tot = n = 0.0
    true_sum = shuf_sum = n_shuf = 0.0
    for batch in batches:
        batch = batch.to(dev)
        loss = float(model.loss(batch, reduction="sum"))
        tot, n = tot + loss, n + batch.n_tokens
        m = sum(batch.media_per_sample)
        if m >= 2:
            perm = derangement(m, gen).to(dev)
            true_sum += loss
            shuf_sum += float(model.loss(batch, media_perm=perm, reduction="sum"))
            n_shuf += batch.n_tokens
    out = {"heldout_loss": tot / max(n, 1), "tokens": int(n)}
    if n_shuf:
        out["shuffled_loss"] = shuf_sum / n_shuf
        out["visual_gain"] = (shuf_sum - true_sum) / n_shuf
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, type=parse_data_arg, help="NAME=PATH[:WEIGHT]")
    ap.add_argument("--ckpt", type=Path, required=True, help="the --out folder of model.train")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-batches", type=int, default=50, help="per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tok, model, ckpt = load_run(args.ckpt, args.device)
    cfg = model.cfg
    results = {}
    for spec in args.data:
        info = DatasetInfo.load(spec.path, spec.name)
        dec = Decoder(info, tok, cfg.vision, cfg.max_tokens, cfg.perceiver.max_frames)
        examples = heldout_examples(info, dec)
        batches = []
        while len(batches) < args.max_batches and (chunk := list(itertools.islice(examples, args.batch_size))):
            batches.append(collate(chunk, tok.image_id, tok.eoc_id))
        r = evaluate(model, batches, args.seed)
        results[spec.name] = r
        line = f"{spec.name}: held-out loss {r['heldout_loss']:.4f} nats/token over {r['tokens']} tokens"
        if "visual_gain" in r:
            line += (f"; shuffled-images loss {r['shuffled_loss']:.4f}; "
                     f"visual-conditioning gain {r['visual_gain']:+.4f} nats/token")
        print(line)
    (args.ckpt / "eval.json").write_text(json.dumps({"step": ckpt["step"], "results": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
