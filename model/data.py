"""WebDataset readers for M3W, pair (ALIGN/LTIP) and video (VTP) dataset folders.

Deterministic given a seed and resumable from `(epoch, consumed)`; batches carry only real media.
Held-out split: a sample is held out when crc32 of its document id (M3W `doc_id`, else the sample
key) is 0 mod 10, so all windows of a document fall on the same side.
"""
from __future__ import annotations

import io
import itertools
import json
import logging
import random
import re
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

import torch
import webdataset as wds
from PIL import Image

from m3w_builder.media.headers import header_excess
from m3w_builder.media.sniff import sniff
from m3w_builder.output.dataset import checked_dataset_json
from m3w_builder.output.formats import WEBDATASET, format_of, iter_shard
from m3w_builder.samples.markers import neutralise
from model.config import VisionConfig
from model.flamingo import Batch
from model.tokenizer import EOC, IMAGE, MarkerTokenizer
from model.xattn import media_plan

log = logging.getLogger(__name__)

# What a damaged shard or member really raises: tarfile's ReadError, pyarrow's ArrowInvalid (a
# ValueError) and ArrowIOError (an OSError), PIL's UnidentifiedImageError (an OSError), its
# truncated-file OSError and its DecompressionBombError (an image past twice its pixel limit),
# json's JSONDecodeError (a ValueError), a member missing (KeyError), metadata of the wrong
# shape (`DamagedSample`).
DAMAGE_ERRORS = (OSError, ValueError, EOFError, KeyError, tarfile.TarError, SyntaxError, Image.DecompressionBombError)


class DamagedSample(ValueError):
    """A sample's metadata does not have the shape the contract gives it (docs/CONTRACTS.md)."""


def sample_meta(raw: dict) -> dict:
    """The sample's `json` member as an object; `DamagedSample` for one that is not (a list, a
    number: `.get` on it raised AttributeError, which ended the training run)."""
    meta = json.loads(raw["json"])
    if not isinstance(meta, dict):
        raise DamagedSample(f"json is a {type(meta).__name__}, not an object")
    return meta


def _of_type(value, kind: type, what: str):
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DamagedSample(f"{what} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _member_list(entries, what: str) -> list[str]:
    """The `member` names of a list of `{"member": ...}` objects (video frames)."""
    return [_of_type(_of_type(e, dict, what).get("member"), str, f"{what} member") for e in _of_type(entries, list, what)]

KINDS = ("m3w", "align", "ltip", "vtp")
# Pixels of a stored image decoded at most: the job stores shorter sides of 256 (a 3:1 picture is
# 768x256); PIL decodes up to 178M pixels, ~0.5 GB per DataLoader worker, before it refuses one
MAX_IMAGE_PIXELS = 16 << 20
HELDOUT_MOD = 10


@dataclass
class DataSpec:
    """`--data NAME=PATH[:WEIGHT]`."""

    name: str
    path: Path
    weight: float = 1.0


def parse_data_arg(arg: str) -> DataSpec:
    name, sep, rest = arg.partition("=")
    if not sep or not name:
        raise ValueError(f"--data expects NAME=PATH[:WEIGHT], got {arg!r}")
    path, _, weight = rest.rpartition(":")
    if not path or not re.fullmatch(r"[0-9.eE+-]+", weight):
        path, weight = rest, "1.0"
    return DataSpec(name, Path(path), float(weight))


@dataclass
class DatasetInfo:
    """What a dataset folder's `dataset.json` says: kind, shards and tokenizer."""

    kind: str
    shards: list[str]
    tokenizer_file: Path | None
    tokenizer_identity: str | None

    @classmethod
    def load(cls, folder: Path, name: str = "") -> "DatasetInfo":
        """Raises ValueError, with the folder in the message, for anything that is not a dataset
        folder with samples, so the CLIs stop with one line before building a model."""
        try:
            meta = json.loads((folder / "dataset.json").read_text())
        except FileNotFoundError:
            raise ValueError(f"{folder}: no dataset.json (not an m3w-builder output folder)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{folder}/dataset.json: unreadable ({e})") from None
        meta = checked_dataset_json(meta, folder / "dataset.json")
        kind = meta.get("kind") or name
        if kind not in KINDS:
            raise ValueError(f"{folder}: unknown dataset kind {kind!r}")
        # a files-format shard is a folder: its url keeps the trailing slash that names the format
        shards = [str(folder / s["url"]) + ("/" if s["url"].endswith("/") else "")
                  for s in meta.get("shardlist", []) if s.get("nsamples", 1)]
        if not shards:
            raise ValueError(f"{folder}: dataset.json lists no shard with samples")
        tok = meta.get("tokenizer") or {}
        tok_file = folder / tok["file"] if tok.get("file") else None
        identity = None
        if tok_file is not None and not tok_file.is_file():
            raise ValueError(f"{folder}: dataset.json names tokenizer {tok['file']!r}, which is not there")
        if tok_file is not None:
            from model.tokenizer import file_sha256
            identity = "sp:" + (tok.get("sha256") or file_sha256(tok_file))
        return cls(kind, shards, tok_file, identity)


def load_infos(specs: list["DataSpec"]) -> list[DatasetInfo]:
    """Every `--data` folder's DatasetInfo, or a one-line exit naming the bad one."""
    try:
        return [DatasetInfo.load(s.path, s.name) for s in specs]
    except ValueError as e:
        raise SystemExit(f"error: --data {e}") from None


def preprocess(data: bytes, vision: VisionConfig) -> torch.Tensor:
    """Encoded image -> normalised (3, S, S) float tensor, aspect ratio kept.

    The encoders take S x S inputs; squashing would change the shapes a caption describes
    ("a tall tower", "a wide banner") and cropping would cut off what it names, so the longer side
    is resized to S and the image centred on a pad of the normalisation mean (0 after normalising).
    """
    s = vision.image_size
    excess = header_excess(sniff(data), data)
    if excess:  # Pillow would walk it a Python step per unit: seconds and a GB for one sample
        raise DamagedSample(excess)
    img = Image.open(io.BytesIO(data))
    if img.width * img.height > MAX_IMAGE_PIXELS:
        raise DamagedSample(f"a {img.width}x{img.height} image, over {MAX_IMAGE_PIXELS} pixels")
    img = img.convert("RGB")
    scale = s / max(img.size)
    w, h = (min(s, max(1, round(v * scale))) for v in img.size)
    img = img.resize((w, h), Image.BILINEAR)
    x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(h, w, 3).permute(2, 0, 1)
    mean, std = torch.tensor(vision.mean).view(3, 1, 1), torch.tensor(vision.std).view(3, 1, 1)
    out = torch.zeros(3, s, s)
    top, left = (s - h) // 2, (s - w) // 2
    out[:, top:top + h, left:left + w] = (x.float() / 255.0 - mean) / std
    return out


def uniform_subsample(items: list, k: int) -> list:
    """At most `k` items spread uniformly over `items` (video frames at 1 FPS -> `max_frames`)."""
    if len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def is_heldout(split_key: str) -> bool:
    return zlib.crc32(split_key.encode()) % HELDOUT_MOD == 0


@dataclass
class Example:
    """One training window: token ids and its media, each (T, 3, S, S) in marker order; `doc` is
    the document it was cut from (windows of one document are not independent samples)."""

    key: str
    ids: list[int]
    media: list[torch.Tensor]
    doc: str = ""


class Decoder:
    """Raw WebDataset sample -> `Example` for the model's tokenizer and image preprocessing."""

    def __init__(self, info: DatasetInfo, tokenizer: MarkerTokenizer, vision: VisionConfig,
                 max_tokens: int, max_frames: int) -> None:
        self.info, self.tok, self.vision = info, tokenizer, vision
        self.max_tokens, self.max_frames = max_tokens, max_frames
        self.same_tokenizer = info.tokenizer_identity == tokenizer.identity
        self.skipped: Counter[str] = Counter()  # damaged samples left out, by exception type

    def image(self, data: bytes) -> torch.Tensor:
        return preprocess(data, self.vision)

    def frames(self, raw: dict, members: list[str]) -> torch.Tensor:
        """A video's frames (1 FPS), uniformly subsampled to at most `max_frames`."""
        return torch.stack([self.image(raw[m]) for m in uniform_subsample(members, self.max_frames)])

    def __call__(self, raw: dict, media: bool = True) -> Example | None:
        """The example of `raw`, or None when its markers and media disagree or it is damaged (an
        unreadable JSON, image or member: logged with its key, so hours of training never stop at
        one bad sample). Media are decoded only for the `<image>`s kept after truncation, and not
        at all with `media=False` (cheap: the ids alone decide whether and where a sample enters
        a batch)."""
        try:
            return self._example(raw, media)
        except DAMAGE_ERRORS as e:
            self.skipped[type(e).__name__] += 1
            log.warning("sample %s skipped: damaged (%s: %s)", raw.get("__key__"), type(e).__name__, str(e)[:200])
            return None

    def _example(self, raw: dict, media: bool) -> Example | None:
        meta = sample_meta(raw)
        if self.info.kind == "m3w":
            text = _of_type(meta.get("text"), str, "text")
            images = [_of_type(d, dict, "images entry") for d in _of_type(meta.get("images", []), list, "images")]
            loaders = [partial(self._m3w_media, raw, i, d) for i, d in enumerate(images)]
        else:
            # look-alikes too (`＜EOC＞` folds to `<EOC>` under NFKC): a caption must not add a marker
            caption = neutralise(raw["txt"].decode("utf-8")).strip()
            text = f"{IMAGE}{caption}{EOC}"
            if self.info.kind == "vtp":
                members = _member_list(meta.get("frames", []), "frames") or sorted(
                    k for k in raw if re.fullmatch(r"\d{3}\.jpg", k))
                loaders = [partial(self.frames, raw, members)]
            else:
                loaders = [lambda: self.image(raw["jpg"]).unsqueeze(0)]
        if self.same_tokenizer and "input_ids" in meta:
            ids = self._stored_ids(meta["input_ids"])
        else:
            ids = self.tok.encode(text)
        if ids.count(self.tok.image_id) != len(loaders):
            return None
        ids = ids[: self.max_tokens]  # and exactly one media item per remaining <image>
        kept = loaders[: ids.count(self.tok.image_id)] if media else []
        return Example(raw["__key__"], ids, [load() for load in kept], str(meta.get("doc_id") or raw["__key__"]))

    def _stored_ids(self, ids) -> list[int]:
        """The window's stored `input_ids`, each an id of the tokenizer: one past the vocabulary
        (or negative) indexed outside the embedding, an error that ends a CUDA run, and a string
        or a 100-digit number failed in `collate`, outside the damage guard."""
        ids = _of_type(ids, list, "input_ids")
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < self.tok.vocab_size:
                raise DamagedSample(f"input_ids holds {str(i)[:20]!r}, not an id below {self.tok.vocab_size}")
        return ids

    def _m3w_media(self, raw: dict, i: int, desc: dict) -> torch.Tensor:
        if desc.get("kind") == "video":
            members = _member_list(desc.get("frames", []), "frames") or sorted(
                k for k in raw if re.fullmatch(rf"{i}\.\d{{3}}\.jpg", k))
            return self.frames(raw, members)
        return self.image(raw[_of_type(desc.get("member") or f"{i}.jpg", str, "member")]).unsqueeze(0)


def _raw_samples(shards: list[str]) -> Iterator[dict]:
    """Samples as webdataset dicts (`__key__` and a member per suffix), from shards of any of the
    job's output formats (tar, parquet, folder of files). A shard damaged on disk (cut by a failed
    copy, overwritten) gives the samples before the damage; the rest of it is skipped with a
    warning instead of ending the training run."""
    for url in shards:
        yielded = 0
        try:
            for raw in _shard_samples(url):
                yield raw
                yielded += 1
        except DAMAGE_ERRORS as e:
            log.warning("shard %s damaged after %d samples, rest skipped (%s: %s)", url, yielded,
                        type(e).__name__, str(e)[:200])


def _shard_samples(url: str) -> Iterator[dict]:
    if format_of(url) == WEBDATASET:
        yield from wds.WebDataset(url, shardshuffle=False, empty_check=False,
                                  nodesplitter=lambda s: s, workersplitter=lambda s: s)
        return
    folder = Path(url.rstrip("/")).parent
    relative = url[len(str(folder)) + 1:]
    for key, members in iter_shard(relative, lambda name: open(folder / name, "rb"),
                                   lambda sub: [p.name for p in (folder / sub).iterdir()]):
        yield {"__key__": key, **dict(members)}


def _split_key(raw: dict) -> str:
    """The document id a sample's split follows; its key when its json is missing or damaged (the
    decoder then skips it: this ran outside its guard, and a damaged json ended the run)."""
    try:
        doc = sample_meta(raw).get("doc_id") if "json" in raw else None
    except DAMAGE_ERRORS:
        doc = None
    return str(doc) if doc and isinstance(doc, (str, int)) else raw["__key__"]


class ExampleStream:
    """Endless train examples of one dataset: seeded shard + buffer shuffle per epoch, rank-strided."""

    def __init__(self, info: DatasetInfo, decoder: Decoder, seed: int, rank: int = 0, world: int = 1,
                 buffer: int = 256) -> None:
        self.info, self.decoder, self.seed = info, decoder, seed
        self.rank, self.world, self.buffer = rank, world, buffer
        self.epoch, self.consumed = 0, 0
        self._it: Iterator[dict] | None = None

    def state(self) -> dict:
        return {"epoch": self.epoch, "consumed": self.consumed}

    def load_state(self, state: dict) -> None:
        self.epoch, self.consumed, self._it = state["epoch"], state["consumed"], None

    def _epoch(self, epoch: int) -> Iterator[dict]:
        rng = random.Random(f"{self.seed}/{epoch}")
        shards = list(self.info.shards)
        rng.shuffle(shards)
        buf: list[dict] = []
        n = 0
        for raw in _raw_samples(shards):
            if is_heldout(_split_key(raw)):
                continue
            buf.append(raw)
            if len(buf) >= self.buffer:
                out = buf.pop(rng.randrange(len(buf)))
                if n % self.world == self.rank:
                    yield out
                n += 1
        rng.shuffle(buf)
        for out in buf:
            if n % self.world == self.rank:
                yield out
            n += 1

    def next_raw(self) -> dict:
        for _ in range(2):
            if self._it is None:
                self._it = self._epoch(self.epoch)
                for _ in range(self.consumed):
                    next(self._it)
            raw = next(self._it, None)
            if raw is not None:
                self.consumed += 1
                return raw
            self.epoch, self.consumed, self._it = self.epoch + 1, 0, None
        raise RuntimeError(f"{self.info.shards[:1]}...: no training samples for rank {self.rank}")

    def next_example(self) -> Example:
        while True:
            ex = self.decoder(self.next_raw())
            if ex is not None:
                return ex

    def next_batch(self, batch_size: int, pad_id: int) -> Batch:
        return collate([self.next_example() for _ in range(batch_size)], self.decoder.tok.image_id, pad_id)

    def clone(self) -> "ExampleStream":
        """A fresh stream at this one's position."""
        other = ExampleStream(self.info, self.decoder, self.seed, self.rank, self.world, self.buffer)
        other.load_state(self.state())
        return other


class BatchStream(torch.utils.data.IterableDataset):
    """(batch, stream state after it) of one `ExampleStream` from its current position, for a
    DataLoader whose workers decode the JPEGs and collate: every worker walks the raw samples
    reading only their ids, which fixes the batch boundaries, and decodes batch k when
    k % workers is its id. The DataLoader takes the workers' outputs in turn, so the batches and
    their order are exactly those of `ExampleStream.next_batch`, with any number of workers."""

    def __init__(self, stream: ExampleStream, batch_size: int, pad_id: int) -> None:
        super().__init__()
        self.stream, self.batch_size, self.pad_id = stream, batch_size, pad_id

    def __iter__(self) -> Iterator[tuple[Batch, dict]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        stream, dec = self.stream.clone(), self.stream.decoder
        for k in itertools.count():
            raws: list[dict] = []
            while len(raws) < self.batch_size:
                raw = stream.next_raw()
                if dec(raw, media=False) is not None:
                    raws.append(raw)
            if k % workers == worker:
                exs = [dec(r) for r in raws]
                yield collate([e for e in exs if e is not None], dec.tok.image_id, self.pad_id), stream.state()


def heldout_examples(info: DatasetInfo, decoder: Decoder) -> Iterator[Example]:
    """The held-out split in shard order."""
    for raw in _raw_samples(info.shards):
        if is_heldout(_split_key(raw)):
            ex = decoder(raw)
            if ex is not None:
                yield ex


def collate(examples: list[Example], image_id: int, pad_id: int) -> Batch:
    """Right-padded ids; labels are next tokens (padding and `<image>` targets ignored); flat media;
    the token -> media plan, built here on the CPU."""
    length = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), -100, dtype=torch.long)
    for b, e in enumerate(examples):
        t = torch.tensor(e.ids, dtype=torch.long)
        ids[b, : len(t)] = t
        labels[b, : len(t) - 1] = t[1:]
    labels[labels == image_id] = -100
    media = [m for e in examples for m in e.media]
    frames = torch.cat(media) if media else torch.zeros(0)
    per_sample = [len(e.media) for e in examples]
    plan = media_plan(ids, image_id, per_sample) if media else None
    return Batch(ids, labels, frames, [m.shape[0] for m in media], per_sample, plan, [e.doc for e in examples])
