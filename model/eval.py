"""Held-out evaluation: `python -m model.eval --data m3w=PATH --ckpt RUN_DIR`.

Per dataset: held-out loss (nats/token) and the visual-conditioning gain, the loss with images
shuffled across the samples of each batch (a derangement, so no item keeps its own image) minus
the loss with the true images. A clearly positive gain means the model uses the pictures.

Two gains are printed: over every labelled token, and over the post-image tokens only (the first
`--post-image` tokens after each `<image>`, up to the next `<EOC>`: the text a picture can inform;
most other tokens cannot depend on it, which dilutes the per-token number). Each comes with a
standard error over windows (ratio estimator), and the shuffle is repeated `--shuffles` times.
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


def post_image_mask(input_ids: torch.Tensor, labels: torch.Tensor, image_id: int, eoc_id: int,
                    k: int = 16) -> torch.Tensor:
    """(B, L) bool over label positions: the target is one of the first `k` tokens after the latest
    `<image>` with no `<EOC>` in between (the target `<EOC>` itself excluded)."""
    pos = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
    last_img = torch.where(input_ids == image_id, pos, -1).cummax(dim=1).values  # per token position
    n_eoc = torch.cumsum(input_ids == eoc_id, dim=1)
    # label position t predicts token t + 1
    tgt_img, tgt_eoc = last_img[:, 1:], n_eoc[:, 1:]
    eoc_at_img = torch.gather(n_eoc, 1, tgt_img.clamp(min=0))
    offset = pos[:, 1:] - tgt_img
    ok = (tgt_img >= 0) & (offset >= 1) & (offset <= k) & (tgt_eoc == eoc_at_img)
    mask = torch.zeros_like(input_ids, dtype=torch.bool)
    mask[:, :-1] = ok
    return mask & (labels != -100)


def token_losses(model: Flamingo, batch: Batch, media_perm: torch.Tensor | None = None) -> torch.Tensor:
    """(B, L) next-token cross-entropy, 0 where the label is ignored."""
    return model.loss(batch, media_perm=media_perm, reduction="none").view(batch.labels.shape)


def _gain(diff: torch.Tensor, count: torch.Tensor) -> tuple[float, float]:
    """Token-weighted mean of per-window summed differences and its standard error (ratio estimator)."""
    n = float(count.sum())
    g = float(diff.sum()) / n
    w = len(diff)
    se = float(((diff - g * count) ** 2).sum()) ** 0.5 / n * (w / max(w - 1, 1)) ** 0.5
    return g, se


@torch.no_grad()
def evaluate(model: Flamingo, batches: list[Batch], seed: int = 0, post_image: int = 16,
             shuffles: int = 1) -> dict:
    """Token-weighted held-out loss; true vs shuffled images on batches with >= 2 media items.

    Gains are (shuffled - true) nats/token, averaged over `shuffles` derangements, over all labelled
    tokens and over the post-image tokens (`post_image_mask`), each with a standard error over windows.
    """
    gen = torch.Generator().manual_seed(seed)
    dev = next(model.parameters()).device
    image_id, eoc_id = (int(i) for i in model.special_ids)
    tot = n = 0.0
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in ("true", "shuf", "n", "ptrue", "pshuf", "pn")}
    for batch in batches:
        batch = batch.to(dev)
        true = token_losses(model, batch)
        tot, n = tot + float(true.sum()), n + batch.n_tokens
        m = sum(batch.media_per_sample)
        if m < 2:
            continue
        shuf = torch.zeros_like(true)
        for _ in range(shuffles):
            shuf += token_losses(model, batch, derangement(m, gen).to(dev))
        shuf /= shuffles
        valid = batch.labels != -100
        post = post_image_mask(batch.input_ids, batch.labels, image_id, eoc_id, post_image)
        for key, loss, sel in (("true", true, valid), ("shuf", shuf, valid), ("ptrue", true, post),
                               ("pshuf", shuf, post)):
            rows[key].append((loss * sel).sum(1).double().cpu())
        rows["n"].append(valid.sum(1).double().cpu())
        rows["pn"].append(post.sum(1).double().cpu())
    out = {"heldout_loss": tot / max(n, 1), "tokens": int(n)}
    if rows["n"]:
        r = {k: torch.cat(v) for k, v in rows.items()}
        out["shuffled_loss"] = float(r["shuf"].sum() / r["n"].sum())
        out["visual_gain"], out["visual_gain_se"] = _gain(r["shuf"] - r["true"], r["n"])
        if r["pn"].sum() > 0:
            out["post_image_tokens"] = int(r["pn"].sum())
            out["post_image_loss"] = float(r["ptrue"].sum() / r["pn"].sum())
            out["post_image_shuffled_loss"] = float(r["pshuf"].sum() / r["pn"].sum())
            out["post_image_gain"], out["post_image_gain_se"] = _gain(r["pshuf"] - r["ptrue"], r["pn"])
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, type=parse_data_arg, help="NAME=PATH[:WEIGHT]")
    ap.add_argument("--ckpt", type=Path, required=True, help="the --out folder of model.train")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-batches", type=int, default=50, help="per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--post-image", type=int, default=16, help="tokens after each <image> in the post-image gain")
    ap.add_argument("--shuffles", type=int, default=3, help="derangements averaged for the gains")
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
        r = evaluate(model, batches, args.seed, args.post_image, args.shuffles)
        results[spec.name] = r
        line = f"{spec.name}: held-out loss {r['heldout_loss']:.4f} nats/token over {r['tokens']} tokens"
        if "visual_gain" in r:
            line += (f"; shuffled-images loss {r['shuffled_loss']:.4f}; "
                     f"visual-conditioning gain {r['visual_gain']:+.4f} ± {r['visual_gain_se']:.4f} nats/token")
        if "post_image_gain" in r:
            line += (f"\n{spec.name}: post-image tokens (first {args.post_image} after each <image>, "
                     f"{r['post_image_tokens']} tokens): loss {r['post_image_loss']:.4f}, shuffled "
                     f"{r['post_image_shuffled_loss']:.4f}; post-image gain {r['post_image_gain']:+.4f} ± "
                     f"{r['post_image_gain_se']:.4f} nats/token")
        print(line)
    (args.ckpt / "eval.json").write_text(json.dumps({"step": ckpt["step"], "results": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
