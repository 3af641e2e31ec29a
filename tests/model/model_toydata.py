"""Tiny dataset folders following docs/CONTRACTS.md, with a learnable image-text signal.

Each image is a square of one colour on a grey background, and the text right after its
`<image>` marker names that colour, so only a model that looks at the image can predict it.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

import sentencepiece as spm
import webdataset as wds
from PIL import Image

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
FILLER = ["Here is another picture from the page.", "We took these photos last week.",
          "The shapes below were drawn by hand.", "Look at the next one."]


def jpeg(colour: str, rng: random.Random, size: tuple[int, int] = (80, 60)) -> bytes:
    img = Image.new("RGB", size, (128, 128, 128))
    x, y = rng.randrange(0, size[0] // 2), rng.randrange(0, size[1] // 2)
    img.paste(COLOURS[colour], (x, y, x + size[0] // 2, y + size[1] // 2))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def caption(colour: str) -> str:
    return f"A {colour} square."


def train_tokenizer(folder: Path, rng: random.Random) -> Path:
    lines = [caption(c) for c in COLOURS] * 20 + FILLER * 20
    lines += [" ".join(rng.choice(FILLER + [caption(c) for c in COLOURS]) for _ in range(3)) for _ in range(200)]
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines))
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "tokenizer"), vocab_size=300, model_type="bpe",
        user_defined_symbols=["<image>", "<EOC>"], hard_vocab_limit=False, minloglevel=2)
    corpus.unlink()
    return folder / "tokenizer.model"


def write_dataset(folder: Path, kind: str, samples: list[dict], tok: Path | None,
                  per_shard: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shardlist = []
    for s in range(0, len(samples), per_shard):
        url = f"{kind}-{s // per_shard:06d}.tar"
        with wds.TarWriter(str(folder / url)) as sink:
            for sample in samples[s: s + per_shard]:
                sink.write(sample)
        data = (folder / url).read_bytes()
        shardlist.append({"url": url, "nsamples": len(samples[s: s + per_shard]), "filesize": len(data),
                          "md5sum": hashlib.md5(data).hexdigest()})
    meta: dict = {"format": "m3w-builder", "version": 1, "kind": kind, "wids_version": 1, "shardlist": shardlist}
    if tok is not None:
        import shutil
        shutil.copy(tok, folder / "tokenizer.model")
        sp = spm.SentencePieceProcessor(model_file=str(tok))
        meta["tokenizer"] = {"file": "tokenizer.model", "sha256": hashlib.sha256(tok.read_bytes()).hexdigest(),
                             "vocab_size": sp.get_piece_size(), "image_token": "<image>",
                             "image_token_id": sp.piece_to_id("<image>"), "eoc_token": "<EOC>",
                             "eoc_token_id": sp.piece_to_id("<EOC>")}
        meta["window"] = {"max_tokens": 256, "max_images": 5}
    (folder / "dataset.json").write_text(json.dumps(meta, indent=1))


def m3w_samples(n: int, tok: Path, rng: random.Random, video_every: int = 7) -> list[dict]:
    """Windows of 0-3 media; every `video_every`-th window has a video (3 frames of one colour)."""
    sp = spm.SentencePieceProcessor(model_file=str(tok))
    out = []
    for k in range(n):
        key = f"doc{k:04d}w0"
        text, images, sample = rng.choice(FILLER), [], {"__key__": key}
        for i in range(k % 4):
            colour = rng.choice(sorted(COLOURS))
            if video_every and k % video_every == 0 and i == 0:
                frames = []
                for t in range(3):
                    sample[f"{i}.{t:03d}.jpg"] = jpeg(colour, rng)
                    frames.append({"t": float(t), "member": f"{i}.{t:03d}.jpg"})
                images.append({"index": i, "kind": "video", "src": f"http://x/{key}/{i}.mp4", "frames": frames})
            else:
                sample[f"{i}.jpg"] = jpeg(colour, rng)
                images.append({"index": i, "kind": "image", "member": f"{i}.jpg", "src": f"http://x/{key}/{i}.jpg"})
            text += f"<EOC><image>{caption(colour)} {rng.choice(FILLER)}"
        text += "<EOC>"
        meta = {"key": key, "doc_id": f"doc{k:04d}", "url": f"http://x/{key}", "text": text,
                "input_ids": sp.encode(text), "images": images,
                "window": {"index": 0, "token_start": 0, "token_end": 0, "doc_tokens": 0}}
        sample["json"] = json.dumps(meta).encode()
        out.append(sample)
    return out


def pair_samples(n: int, rng: random.Random) -> list[dict]:
    out = []
    for k in range(n):
        colour = rng.choice(sorted(COLOURS))
        key = f"{k:09d}"
        out.append({"__key__": key, "jpg": jpeg(colour, rng), "txt": caption(colour).encode(),
                    "json": json.dumps({"key": key, "url": f"http://x/{key}.jpg", "caption": caption(colour),
                                        "status": "success"}).encode()})
    return out


def vtp_samples(n: int, rng: random.Random) -> list[dict]:
    out = []
    for k in range(n):
        colour = rng.choice(sorted(COLOURS))
        key = f"v{k:06d}"
        sample = {"__key__": key, "txt": caption(colour).encode()}
        frames = []
        for t in range(2 + k % 3):
            sample[f"{t:03d}.jpg"] = jpeg(colour, rng)
            frames.append({"t": float(t), "member": f"{t:03d}.jpg"})
        sample["json"] = json.dumps({"key": key, "url": f"http://x/{key}.mp4", "frames": frames}).encode()
        out.append(sample)
    return out


def build(root: Path, n_m3w: int = 120, n_pairs: int = 60, n_vtp: int = 30, seed: int = 0) -> dict[str, Path]:
    """Writes `m3w/`, `align/` and `vtp/` under `root`; returns their paths."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(root, rng)
    write_dataset(root / "m3w", "m3w", m3w_samples(n_m3w, tok, rng), tok, per_shard=40)
    write_dataset(root / "align", "align", pair_samples(n_pairs, rng), None, per_shard=30)
    write_dataset(root / "vtp", "vtp", vtp_samples(n_vtp, rng), None, per_shard=15)
    return {"m3w": root / "m3w", "align": root / "align", "vtp": root / "vtp", "tokenizer": tok}
