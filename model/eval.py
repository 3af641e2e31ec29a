"""Held-out evaluation: `python -m model.eval --data m3w=PATH --ckpt RUN_DIR [--word-class sample]`.

Per dataset: held-out loss (nats/token) and the visual-conditioning gain, the loss with images
shuffled across the samples of each batch (a derangement, so no item keeps its own image) minus
the loss with the true images. A clearly positive gain means the model uses the pictures.

Gains are printed over every labelled token and over the post-image tokens only (the first
`--post-image` tokens after each `<image>`, up to the next `<EOC>`: the text a picture can inform;
most other tokens cannot depend on it, which dilutes the per-token number), and, per word class
(`--word-class NAME=w1,w2,...`; `sample` = the colour, shape and background words of the embedded
sample crawl's pictures), split into the class's tokens and all other tokens: a gain carried only
by the words that name what is drawn shows that the model reads the pixels through the right
`<image>`, not that it learns anything beyond naming them. Standard errors are over documents (the
windows of one document share its pictures and text, so they are not independent), and the
shuffle is repeated `--shuffles` times.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
from pathlib import Path

import torch

from m3w_builder.options import ArgumentParser
from model import precision
from model.checkpoint import load_run
from model.data import Decoder, collate, heldout_examples, load_infos, parse_data_arg
from model.flamingo import Batch, Flamingo
from model.tokenizer import MarkerTokenizer


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


def sample_crawl_words() -> set[str]:
    """What the embedded sample crawl's pictures show: their colour, shape and background words."""
    from m3w_builder.demo.crawl_media import PALETTE, SHAPES

    return set(PALETTE) | set(SHAPES) | {"ball"}


def parse_word_class(arg: str) -> tuple[str, set[str]]:
    """`NAME=w1,w2,...` or `sample`."""
    if arg == "sample":
        return "sample", sample_crawl_words()
    name, sep, words = arg.partition("=")
    if not sep or not name or not words:
        raise argparse.ArgumentTypeError(f"--word-class expects NAME=w1,w2,... or sample, got {arg!r}")
    return name, {w.strip().lower() for w in words.split(",") if w.strip()}


def word_class_tokens(tok: MarkerTokenizer, ids: list[int], words: set[str]) -> list[bool]:
    """Per token: whether it is part of a word in `words` (case-insensitive). Tokens are mapped to
    characters by decoding growing prefixes, which works for any tokenizer's subword scheme."""
    text = tok.decode(ids).lower()
    flag = [False] * (len(text) + 1)
    for m in re.finditer(r"\w+", text):
        if m.group() in words:
            flag[m.start(): m.end()] = [True] * (m.end() - m.start())
    out, prev = [], 0
    for k in range(1, len(ids) + 1):
        end = min(len(tok.decode(ids[:k])), len(text))
        out.append(any(flag[prev:end]))
        prev = max(prev, end)
    return out


def _gain(diff: torch.Tensor, count: torch.Tensor, docs: list[str]) -> tuple[float, float]:
    """Token-weighted mean of per-window summed differences and its standard error over documents
    (ratio estimator with documents as clusters)."""
    index = {d: i for i, d in enumerate(dict.fromkeys(docs))}
    cluster = torch.tensor([index[d] for d in docs])
    d_sum = torch.zeros(len(index), dtype=torch.float64).index_add_(0, cluster, diff.double())
    n_sum = torch.zeros(len(index), dtype=torch.float64).index_add_(0, cluster, count.double())
    n = float(n_sum.sum())
    g = float(d_sum.sum()) / n
    k = len(index)
    se = float(((d_sum - g * n_sum) ** 2).sum()) ** 0.5 / n * (k / max(k - 1, 1)) ** 0.5
    return g, se


def token_groups(batch: Batch, tok: MarkerTokenizer | None, image_id: int, eoc_id: int, post_image: int,
                 classes: dict[str, set[str]]) -> dict[str, torch.Tensor]:
    """(B, L) label-position masks: all tokens, post-image tokens and, per word class, each split
    into the class's tokens and the tokens of no class."""
    valid = batch.labels != -100
    post = post_image_mask(batch.input_ids, batch.labels, image_id, eoc_id, post_image)
    groups = {"all": valid, "post_image": post}
    if not classes or tok is None:
        return groups
    any_cls = torch.zeros_like(valid)
    for name, words in classes.items():
        cls = torch.zeros_like(valid)
        for b, row in enumerate(batch.input_ids.tolist()):  # label position t predicts token t + 1
            cls[b, :-1] = torch.tensor(word_class_tokens(tok, row, words)[1:], dtype=torch.bool)
        cls &= valid
        any_cls |= cls
        groups[f"all/{name}"], groups[f"post_image/{name}"] = cls, cls & post
    groups["all/other"], groups["post_image/other"] = valid & ~any_cls, post & ~any_cls
    return groups


@torch.no_grad()
def evaluate(model: Flamingo, batches: list[Batch], seed: int = 0, post_image: int = 16,
             shuffles: int = 1, classes: dict[str, set[str]] | None = None,
             tok: MarkerTokenizer | None = None) -> dict:
    """Token-weighted held-out loss; true vs shuffled images on batches with >= 2 media items.

    Gains are (shuffled - true) nats/token, averaged over `shuffles` derangements, per token group
    (`token_groups`), each with a standard error over documents (`Batch.docs`, else windows).
    `visual_gain` and `post_image_gain` (+ `_se`) are the "all" and "post_image" groups.
    """
    gen = torch.Generator().manual_seed(seed)
    dev = next(model.parameters()).device
    image_id, eoc_id = (int(i) for i in model.special_ids)
    tot = n = 0.0
    rows: dict[str, dict[str, list[torch.Tensor]]] = {}
    docs: list[str] = []
    for bi, batch in enumerate(batches):
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
        docs += batch.docs or [f"window {bi}/{i}" for i in range(len(batch.media_per_sample))]
        for name, sel in token_groups(batch, tok, image_id, eoc_id, post_image, classes or {}).items():
            r = rows.setdefault(name, {"true": [], "shuf": [], "n": []})
            r["true"].append((true * sel).sum(1).double().cpu())
            r["shuf"].append((shuf * sel).sum(1).double().cpu())
            r["n"].append(sel.sum(1).double().cpu())
    out: dict = {"heldout_loss": tot / max(n, 1), "tokens": int(n)}
    groups = {}
    for name, r in rows.items():
        t, s, c = (torch.cat(r[k]) for k in ("true", "shuf", "n"))
        if c.sum() == 0:
            continue
        gain, se = _gain(s - t, c, docs)
        groups[name] = {"tokens": int(c.sum()), "loss": float(t.sum() / c.sum()),
                        "shuffled_loss": float(s.sum() / c.sum()), "gain": gain, "se": se}
    if groups:
        out["groups"] = groups
        out["documents"] = len(set(docs))
        out["windows"] = len(docs)
        out["shuffled_loss"] = groups["all"]["shuffled_loss"]
        out["visual_gain"], out["visual_gain_se"] = groups["all"]["gain"], groups["all"]["se"]
        if "post_image" in groups:
            out["post_image_gain"], out["post_image_gain_se"] = groups["post_image"]["gain"], groups["post_image"]["se"]
    return out


def report(name: str, r: dict, post_image: int) -> str:
    """Human-readable lines for one dataset's `evaluate` result."""
    lines = [f"{name}: held-out loss {r['heldout_loss']:.4f} nats/token over {r['tokens']} tokens"]
    if "groups" in r:
        lines.append(f"{name}: visual-conditioning gain = loss with shuffled images - loss with true images, "
                     f"nats/token, ± standard error over {r['documents']} documents ({r['windows']} windows); "
                     f"post_image = first {post_image} tokens after each <image>")
        lines.append(f"  {'tokens':<24}{'count':>8}{'true':>9}{'shuffled':>10}{'gain':>10}{'± se':>9}")
        for g, v in r["groups"].items():
            lines.append(f"  {g:<24}{v['tokens']:>8}{v['loss']:>9.4f}{v['shuffled_loss']:>10.4f}"
                         f"{v['gain']:>+10.4f}{v['se']:>9.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, type=parse_data_arg, help="NAME=PATH[:WEIGHT]")
    ap.add_argument("--ckpt", type=Path, required=True, help="the --out folder of model.train")
    ap.add_argument("--step", type=int, help="the checkpoint of this step (default: the latest); "
                    "results go to eval-step-N.json instead of eval.json")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-batches", type=int, default=50, help="per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--post-image", type=int, default=16, help="tokens after each <image> in the post-image gain")
    ap.add_argument("--shuffles", type=int, default=3, help="derangements averaged for the gains")
    ap.add_argument("--word-class", action="append", type=parse_word_class, default=[],
                    help="NAME=w1,w2,... (or `sample`): also report the gain on these words vs all others")
    ap.add_argument("--precision", default="auto", choices=precision.CHOICES,
                    help="bf16 autocast; auto: where the device multiplies bf16 natively (`model.precision`)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    infos = load_infos(args.data)
    tok, model, ckpt = load_run(args.ckpt, args.device, args.step)
    bf16, why = precision.resolve(args.precision, torch.device(args.device))
    print(f"precision {'bf16' if bf16 else 'fp32'} ({why})")
    cfg = model.cfg
    results = {}
    for spec, info in zip(args.data, infos):
        dec = Decoder(info, tok, cfg.vision, cfg.max_tokens, cfg.perceiver.max_frames)
        examples = heldout_examples(info, dec)
        batches = []
        while len(batches) < args.max_batches and (chunk := list(itertools.islice(examples, args.batch_size))):
            batches.append(collate(chunk, tok.image_id, tok.eoc_id))
        with torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16, enabled=bf16):
            r = evaluate(model, batches, args.seed, args.post_image, args.shuffles, dict(args.word_class), tok)
        results[spec.name] = r
        print(report(spec.name, r, args.post_image))
    name = "eval.json" if args.step is None else f"eval-step-{args.step}.json"
    (args.ckpt / name).write_text(json.dumps({"step": ckpt["step"], "results": results}, indent=1))
    return results


def cli() -> None:
    """Console entry point (`m3w-eval`): `main` returns its results for callers, not an exit status."""
    main()


if __name__ == "__main__":
    cli()
