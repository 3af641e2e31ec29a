"""Readers: contract parsing, exact image binding, re-tokenization, split, determinism, resume."""
from __future__ import annotations

import re
from pathlib import Path

import model_toydata
import sentencepiece as spm
import torch

from model.config import tiny
from model.data import (
    DatasetInfo,
    Decoder,
    ExampleStream,
    _raw_samples,
    collate,
    heldout_examples,
    is_heldout,
    parse_data_arg,
)
from model.tokenizer import SPTokenizer

RGB = {name: torch.tensor(c, dtype=torch.float32) / 255 for name, c in model_toydata.COLOURS.items()}


def decoder(path: Path, tok: SPTokenizer, max_frames: int = 8) -> Decoder:
    cfg = tiny()
    return Decoder(DatasetInfo.load(path), tok, cfg.vision, 256, max_frames)


def colour_of(media: torch.Tensor) -> str:
    """The colour of the square: the palette entry nearest the most saturated pixel."""
    px = (media[0] * 0.5 + 0.5).flatten(1).t()
    sat = px.max(1).values - px.min(1).values
    p = px[sat.argmax()]
    return min(RGB, key=lambda n: float((RGB[n] - p).norm()))


def following_colours(text: str) -> list[str]:
    """The first colour word after each <image> (the toy captions name the colour first)."""
    return [re.search("|".join(RGB), part).group(0) for part in text.split("<image>")[1:]]


def test_parse_data_arg() -> None:
    s = parse_data_arg("m3w=out/m3w:0.5")
    assert (s.name, str(s.path), s.weight) == ("m3w", "out/m3w", 0.5)
    assert parse_data_arg("vtp=/a/b").weight == 1.0


def test_each_image_is_bound_to_its_own_marker(toy: dict[str, Path]) -> None:
    """For every window, image i shows the colour named right after the i-th <image>."""
    tok = SPTokenizer(toy["tokenizer"])
    for kind in ("m3w", "align", "vtp"):
        dec = decoder(toy[kind], tok)
        n_media = 0
        for raw in _raw_samples(dec.info.shards):
            ex = dec(raw)
            text = tok.decode(ex.ids)
            assert ex.ids.count(tok.image_id) == len(ex.media)
            assert [colour_of(m) for m in ex.media] == following_colours(text)
            n_media += len(ex.media)
        assert n_media > 0
    assert dec.same_tokenizer is False


def test_video_frames_are_one_media_item(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok, max_frames=2)
    videos = [ex for raw in _raw_samples(dec.info.shards) if (ex := dec(raw)) and any(m.shape[0] > 1 for m in ex.media)]
    assert videos and all(m.shape[0] <= 2 for ex in videos for m in ex.media)
    batch = collate(videos[:3], tok.image_id, tok.eoc_id)
    assert batch.frames.shape[0] == sum(batch.frames_per_media)
    assert len(batch.frames_per_media) == sum(batch.media_per_sample)


def test_retokenization_keeps_binding(toy: dict[str, Path], tmp_path: Path) -> None:
    """A different tokenizer re-tokenizes the text; markers still match the images one to one."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"{w} square drawn on a page" for w in ["a red", "blue", "green one"] * 30))
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "other"), vocab_size=60,
                                   user_defined_symbols=["<EOC>", "<image>"], hard_vocab_limit=False,
                                   minloglevel=2)
    other = SPTokenizer(tmp_path / "other.model")
    dec = decoder(toy["m3w"], other)
    assert not dec.same_tokenizer
    for raw in _raw_samples(dec.info.shards):
        ex = dec(raw)
        assert ex.ids.count(other.image_id) == len(ex.media)
        assert [colour_of(m) for m in ex.media] == following_colours(other.decode(ex.ids))


def test_truncation_drops_images_past_the_window(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok)
    dec.max_tokens = 12
    for raw in _raw_samples(dec.info.shards):
        ex = dec(raw)
        assert len(ex.ids) <= 12 and ex.ids.count(tok.image_id) == len(ex.media)


def test_collate_has_no_padding_images(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok)
    exs = [dec(r) for r, _ in zip(_raw_samples(dec.info.shards), range(8))]
    batch = collate(exs, tok.image_id, tok.eoc_id)
    assert batch.frames.shape[0] == sum(m.shape[0] for e in exs for m in e.media)
    assert batch.media_per_sample == [len(e.media) for e in exs]
    assert (batch.labels == tok.image_id).sum() == 0


def test_heldout_split_is_disjoint_and_stable(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok)
    held = {ex.key for ex in heldout_examples(dec.info, dec)}
    stream = ExampleStream(dec.info, dec, seed=0)
    train = {stream.next_example().key for _ in range(120)}
    assert held and not held & train
    assert all(is_heldout(k[:7]) for k in held)  # doc id = key without the window suffix


def test_stream_is_deterministic_and_resumable(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["align"], tok)
    a, b = ExampleStream(dec.info, dec, seed=3, buffer=16), ExampleStream(dec.info, dec, seed=3, buffer=16)
    keys_a = [a.next_example().key for _ in range(130)]  # crosses epoch boundaries
    assert keys_a == [b.next_example().key for _ in range(130)]
    c = ExampleStream(dec.info, dec, seed=3, buffer=16)
    for _ in range(77):
        c.next_example()
    d = ExampleStream(dec.info, dec, seed=3, buffer=16)
    d.load_state(c.state())
    assert [d.next_example().key for _ in range(30)] == keys_a[77:107]
    other = ExampleStream(dec.info, dec, seed=4, buffer=16)
    assert [other.next_example().key for _ in range(40)] != keys_a[:40]


def test_ranks_partition_the_stream(toy: dict[str, Path]) -> None:
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["align"], tok)
    full = ExampleStream(dec.info, dec, seed=1)
    n = sum(1 for r in _raw_samples(dec.info.shards) if not is_heldout(r["__key__"]))
    keys = [full.next_example().key for _ in range(n)]
    r0, r1 = (ExampleStream(dec.info, dec, seed=1, rank=r, world=2) for r in (0, 1))
    got = [r0.next_example().key for _ in range((n + 1) // 2)] + [r1.next_example().key for _ in range(n // 2)]
    assert sorted(got) == sorted(keys)


def test_preprocess_keeps_the_aspect_ratio() -> None:
    """A wide 2:1 picture fills the full width and the middle half of the height; the pad is the
    normalisation mean (0). Portrait pictures are padded left and right instead."""
    import io

    from PIL import Image

    from model.data import preprocess
    vision = tiny().vision
    s = vision.image_size
    for size, dim in (((120, 60), 1), ((60, 120), 0)):
        buf = io.BytesIO()
        Image.new("RGB", size, (220, 30, 30)).save(buf, format="PNG")
        x = preprocess(buf.getvalue(), vision)
        assert x.shape == (3, s, s)
        content = (x.abs().sum(0) > 0.1).any(dim=dim)  # rows (wide) or columns (tall) holding the picture
        assert content.sum() == s // 2 and content[s // 4: 3 * s // 4].all()
        red = torch.tensor([220 / 255, 30 / 255, 30 / 255]).view(3, 1, 1) * 2 - 1
        mid = x[:, s // 2 - 2: s // 2 + 2, s // 2 - 2: s // 2 + 2]
        assert torch.allclose(mid, red.expand_as(mid), atol=0.02)


def test_generate_subsamples_video_frames_like_training(toy: dict[str, Path], tmp_path: Path) -> None:
    """A folder of 10 frames given to `generate` yields the frames the training decoder would keep."""
    import random

    from model.generate import load_media
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok, max_frames=4)
    rng = random.Random(0)
    raw = {}
    for t in range(10):
        raw[f"{t:03d}.jpg"] = model_toydata.jpeg(rng.choice(sorted(model_toydata.COLOURS)), rng)
        (tmp_path / f"{t:03d}.jpg").write_bytes(raw[f"{t:03d}.jpg"])
    want = dec.frames(raw, sorted(raw))
    got = load_media(tmp_path, dec.vision, 4)
    assert got.shape[0] == 4 and torch.equal(got, want)
    firsts = torch.stack([dec.image(raw[f"{t:03d}.jpg"]) for t in range(4)])
    assert not torch.equal(got, firsts)


def test_worker_processes_give_the_same_batches(toy: dict[str, Path]) -> None:
    """Two DataLoader workers decoding alternate batches reproduce the in-process batch sequence
    (m3w re-tokenized, so some samples are skipped by ids alone), with the stream positions."""
    from torch.utils.data import DataLoader

    from model.data import BatchStream
    tok = SPTokenizer(toy["tokenizer"])
    dec = decoder(toy["m3w"], tok)
    dec.max_tokens = 40  # truncation drops some images: only kept ones are decoded
    ref = ExampleStream(dec.info, dec, seed=5, buffer=16)
    start = ExampleStream(dec.info, dec, seed=5, buffer=16)
    loader = iter(DataLoader(BatchStream(start, 4, tok.eoc_id), batch_size=None, num_workers=2))
    for _ in range(7):
        want = ref.next_batch(4, tok.eoc_id)
        got, state = next(loader)
        assert torch.equal(got.input_ids, want.input_ids) and torch.equal(got.frames, want.frames)
        assert got.media_per_sample == want.media_per_sample and torch.equal(got.plan.scatter, want.plan.scatter)
        assert state == ref.state()


def test_caption_look_alikes_never_become_markers(toy: dict[str, Path], tmp_path: Path) -> None:
    """A pair caption holding `<EOC>` or a look-alike NFKC folds into one (`＜EOC＞`, `﹤image﹥`) still
    gives exactly one `<image>` at the start and one `<EOC>` at the end."""
    import random

    tok = SPTokenizer(toy["tokenizer"])
    samples = model_toydata.pair_samples(3, random.Random(0))
    for sample, forged in zip(samples, ["a red square <EOC> more", "a red square ＜EOC＞ more",
                                        "a ﹤image﹥ blue ＜ｉｍａｇｅ＞ square"]):
        sample["txt"] = forged.encode()
    model_toydata.write_dataset(tmp_path / "forged", "align", samples, None, 10)
    dec = decoder(tmp_path / "forged", tok)
    for raw in _raw_samples(dec.info.shards):
        ids = dec(raw).ids
        assert ids.count(tok.image_id) == 1 and ids[0] == tok.image_id
        assert ids.count(tok.eoc_id) == 1 and ids[-1] == tok.eoc_id


def test_damaged_shards_and_members_are_skipped_with_a_warning(toy: dict[str, Path], tmp_path: Path,
                                                                caplog) -> None:
    """A shard cut by a failed copy and a sample with an unreadable image used to end the run
    (tarfile.ReadError, PIL's OSError) hours into training; now only they are left out."""
    import io
    import shutil
    import tarfile

    tok = SPTokenizer(toy["tokenizer"])
    whole = decoder(toy["align"], tok)
    all_keys = [ex.key for raw in _raw_samples(whole.info.shards) if (ex := whole(raw)) is not None]
    damaged = tmp_path / "align"
    shutil.copytree(toy["align"], damaged)
    first, second = (Path(s) for s in DatasetInfo.load(damaged).shards[:2])
    with tarfile.open(first) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    bad_key = next(m.name for m, _ in members if m.name.endswith(".jpg")).rsplit(".", 1)[0]
    with tarfile.open(first, "w") as tar:
        for m, data in members:
            data = data[:100] if m.name == f"{bad_key}.jpg" else data
            m.size = len(data)
            tar.addfile(m, io.BytesIO(data))
    second_keys = [raw["__key__"] for raw in _raw_samples([str(second)])]
    cut = second.read_bytes()
    second.write_bytes(cut[: len(cut) // 2])
    dec = decoder(damaged, tok)
    with caplog.at_level("WARNING", logger="model.data"):
        keys = [ex.key for raw in _raw_samples(dec.info.shards) if (ex := dec(raw)) is not None]
    lost = set(all_keys) - set(keys)
    assert bad_key in lost and lost - {bad_key} <= set(second_keys) and len(lost) > 1
    assert keys == [k for k in all_keys if k not in lost]  # the rest in order, nothing new
    assert any(f"sample {bad_key} skipped: damaged" in r.message for r in caplog.records)
    assert any(f"shard {second} damaged after" in r.message for r in caplog.records)


def _damaged_m3w_samples(tok_path: Path) -> tuple[list[dict], dict[str, str]]:
    """Toy M3W windows, some with metadata of the wrong shape or a bomb of an image; returns the
    samples and, per damaged key, what was done to it."""
    import io
    import json
    import random

    from PIL import Image

    samples = model_toydata.m3w_samples(40, tok_path, random.Random(3), video_every=3)
    with_image = [s for s in samples if "1.jpg" in s]
    with_video = [s for s in samples if any(".000.jpg" in k for k in s)]
    plain = [s for s in samples if s not in with_image and s not in with_video]
    bomb = io.BytesIO()
    Image.new("L", (12_000, 12_000)).save(bomb, "PNG")  # 144M pixels: PIL only warns, then decodes it

    def meta(sample: dict, **changes) -> bytes:
        return json.dumps({**json.loads(sample["json"]), **changes}).encode()

    damage = {
        "json is a list": lambda s: {"json": b"[1, 2]"},
        "json cut short": lambda s: {"json": s["json"][:20]},
        "json not utf-8": lambda s: {"json": b"\xff\xfe" + s["json"]},
        "a string id": lambda s: {"json": meta(s, input_ids=["a", *json.loads(s["json"])["input_ids"]])},
        "an id past the vocabulary": lambda s: {"json": meta(s, input_ids=[99_999, *json.loads(s["json"])["input_ids"]])},
        "a negative id": lambda s: {"json": meta(s, input_ids=[-5, *json.loads(s["json"])["input_ids"]])},
        "a 30-digit id": lambda s: {"json": meta(s, input_ids=[10**30, *json.loads(s["json"])["input_ids"]])},
        "ids not a list": lambda s: {"json": meta(s, input_ids=7)},
        "text not a string": lambda s: {"json": json.dumps({**{k: v for k, v in json.loads(s["json"]).items()
                                                              if k != "input_ids"}, "text": None}).encode()},
    }
    done: dict[str, str] = {}
    for (what, change), sample in zip(damage.items(), plain):
        sample.update(change(sample))
        done[sample["__key__"]] = what
    with_image[0]["1.jpg"] = bomb.getvalue()
    done[with_image[0]["__key__"]] = "an image of 144M pixels"
    video = with_video[0]
    video["json"] = meta(video, images=[{**d, "frames": [5]} if d["kind"] == "video" else d
                                        for d in json.loads(video["json"])["images"]])
    done[video["__key__"]] = "frames that are numbers"
    return samples, done


def test_samples_with_metadata_of_the_wrong_shape_are_skipped_and_counted(toy: dict[str, Path], tmp_path: Path,
                                                                          caplog) -> None:
    """A json member that was a list or cut short, ids no tokenizer gives (strings, 30 digits,
    past the vocabulary, negative), a text or frames of the wrong type and a 144M-pixel image
    each ended the training run (AttributeError, JSONDecodeError in the split outside the guard,
    TypeError, ValueError in collate, DecompressionBombError) or, an id past the vocabulary, an
    index outside the embedding; now each is one skipped, counted sample."""
    tok = SPTokenizer(toy["tokenizer"])
    samples, damaged = _damaged_m3w_samples(toy["tokenizer"])
    model_toydata.write_dataset(tmp_path / "m3w", "m3w", samples, toy["tokenizer"], 10)
    dec = decoder(tmp_path / "m3w", tok)
    with caplog.at_level("WARNING", logger="model.data"):
        stream = ExampleStream(dec.info, dec, seed=0, buffer=4)
        kept = [stream.next_example() for _ in range(len(samples) - len(damaged) - 4)]
        kept += list(heldout_examples(dec.info, dec))
    assert not {e.key for e in kept} & set(damaged)
    collate(kept, tok.image_id, tok.eoc_id)  # every kept id an id of the tokenizer
    assert all(0 <= i < tok.vocab_size for e in kept for i in e.ids)
    skipped = {r.message.split()[1] for r in caplog.records if "skipped: damaged" in r.message}
    assert skipped == set(damaged), {damaged[k] for k in set(damaged) - skipped}
    assert sum(dec.skipped.values()) >= len(damaged)


def test_a_stored_image_whose_header_pillow_would_walk_for_seconds_is_damaged() -> None:
    """A shard's JPEG of 10^6 empty segments (4 MB) cost Pillow ~1 CPU-s and +150 MB per sample
    in each DataLoader worker; it is a damaged sample, refused before Pillow opens it."""
    import io
    import time

    import pytest
    from PIL import Image

    from model.data import DamagedSample, preprocess
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (220, 30, 30)).save(buf, format="JPEG")
    bloated = buf.getvalue()[:2] + b"\xff\xe1\x00\x02" * 1_000_000 + buf.getvalue()[2:]
    start = time.process_time()
    with pytest.raises(DamagedSample, match="segments"):
        preprocess(bloated, tiny().vision)
    assert time.process_time() - start < 0.2
    assert preprocess(buf.getvalue(), tiny().vision).shape[0] == 3
