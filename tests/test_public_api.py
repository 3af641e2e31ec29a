"""The README's library entry points (`m3w_builder.__init__`) on real material, shard read back by webdataset."""

from __future__ import annotations

import io
import json

import webdataset as wds
from PIL import Image

import m3w_builder
from m3w_builder import ShardWriter, extract, extract_frames, process_image, render_text
from tests.conftest import shared_path


def test_public_names_are_exported() -> None:
    assert set(m3w_builder.__all__) >= {"extract", "render_text", "process_image", "extract_frames", "ShardWriter",
                                        "Document", "Rejected", "Drops"}
    for name in m3w_builder.__all__:
        assert getattr(m3w_builder, name) is not None


def test_page_to_shard_with_the_public_api(tmp_path) -> None:
    page = shared_path("html", "mozilla-readability", "wikipedia.html")
    doc = extract(page.read_bytes(), "http://fakehost/test/page.html").document
    text = render_text(doc)
    assert text.endswith("<EOC>") and text.count("<image>") == len(doc.media)
    photo = process_image(shared_path("images", "exif-orientation-examples", "Portrait_6.jpg").read_bytes())
    with Image.open(io.BytesIO(photo.jpeg)) as im:
        assert im.size == (photo.width, photo.height) and photo.height > photo.width  # EXIF rotation applied
    clip = extract_frames(shared_path("video", "torchcodec-resources", "nasa_13013.mp4").read_bytes())
    assert len(clip.frames) == 13
    shard = tmp_path / "api-000000.tar"
    with shard.open("wb") as f:
        writer = ShardWriter(f)
        meta = {"url": doc.url, "text": text[:200]}
        writer.add_sample("k0", [("json", json.dumps(meta).encode()), ("0.jpg", photo.jpeg)])
        writer.add_sample("k1", [("json", b"{}")] + [(f"0.{int(t):03d}.jpg", j) for t, j in clip.frames])
        writer.close()
    got = list(wds.WebDataset(str(shard), shardshuffle=False))
    assert [s["__key__"] for s in got] == ["k0", "k1"]
    assert json.loads(got[0]["json"]) == meta and got[0]["0.jpg"] == photo.jpeg
    assert sorted(k for k in got[1] if k.endswith(".jpg")) == [f"0.{t:03d}.jpg" for t in range(13)]
