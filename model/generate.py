"""Greedy completion of an interleaved few-shot prompt.

    python -m model.generate --ckpt RUN_DIR --prompt "<image>A red square.<EOC><image>" \
        --image red.jpg --image query.jpg

One `--image` per `<image>` marker, in order; a folder of JPEG frames is a video.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from m3w_builder.options import ArgumentParser
from model.checkpoint import load_run
from model.config import VisionConfig
from model.data import preprocess, uniform_subsample
from model.flamingo import Flamingo
from model.tokenizer import MarkerTokenizer


def load_media(path: Path, vision: VisionConfig, max_frames: int) -> torch.Tensor:
    """(T, 3, S, S): one image, or the sorted JPEG frames of a folder (a video), uniformly
    subsampled to `max_frames` as in training."""
    files = uniform_subsample(sorted(path.glob("*.jpg")), max_frames) if path.is_dir() else [path]
    return torch.stack([preprocess(f.read_bytes(), vision) for f in files])


@torch.no_grad()
def complete(model: Flamingo, tok: MarkerTokenizer, prompt: str, media: list[torch.Tensor],
             max_new_tokens: int = 20) -> str:
    """Greedy decoding until `<EOC>` or `max_new_tokens`; returns the generated text only."""
    ids = tok.encode(prompt)
    if ids.count(tok.image_id) != len(media):
        raise ValueError(f"{ids.count(tok.image_id)} <image> markers but {len(media)} images")
    dev = next(model.parameters()).device
    frames = torch.cat(media).to(dev) if media else torch.zeros(0, device=dev)
    counts = [m.shape[0] for m in media]
    new: list[int] = []
    for _ in range(max_new_tokens):
        x = torch.tensor([ids + new], device=dev)
        nxt = int(model(x, frames, counts, [len(media)])[0, -1].argmax())
        if nxt == tok.eoc_id:
            break
        new.append(nxt)
    return tok.decode(new)


def main(argv: list[str] | None = None) -> str:
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True, help="the --out folder of model.train")
    ap.add_argument("--prompt", required=True, help="text with <image> and <EOC> markers")
    ap.add_argument("--image", action="append", type=Path, default=[], help="one per <image>, in order")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    tok, model, _ = load_run(args.ckpt, args.device)
    media = [load_media(p, model.cfg.vision, model.cfg.perceiver.max_frames) for p in args.image]
    text = complete(model, tok, args.prompt, media, args.max_new_tokens)
    print(text)
    return text


def cli() -> None:
    """Console entry point (`m3w-generate`): `main` returns its results for callers, not an exit status."""
    main()


if __name__ == "__main__":
    cli()
