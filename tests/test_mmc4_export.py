"""The MMC4 export puts every image back where it stood when read the way OpenFlamingo's loader
reads MMC4 (argmax of each similarity row gives the sentence the image precedes)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import webdataset as wds

from m3w_builder.demo.crawl import write_sample_crawl
from m3w_builder.output.mmc4 import export, iter_windows
from pipelines.m3w import run


def _openflamingo_text_and_images(doc: dict) -> tuple[str, list[bytes]]:
    """Rebuild the interleaved text the way OpenFlamingo's MMC4 preprocessing does."""
    sentences = list(doc["text_list"])
    placed = []
    for row, info in zip(doc["similarity_matrix"], doc["image_info"]):
        placed.append((int(np.argmax(row)), base64.b64decode(info["image_base64"])))
    placed.sort(key=lambda p: p[0])  # stable: images of one sentence keep their order
    for index, _ in reversed(placed):
        sentences[index] = "<image>" + sentences[index]
    return " ".join(s for s in sentences if s), [image for _, image in placed]


def test_export_keeps_every_image_in_its_slot(tmp_path: Path):
    crawl = write_sample_crawl(tmp_path / "crawl")
    out = tmp_path / "m3w"
    run(["--input", str(crawl), "--output", str(out), "--direct_num_workers=1", "--no_http", "--no_report"])
    paths = export(out, tmp_path / "mmc4", samples_per_shard=100)
    originals = {key: (meta, members) for key, meta, members in iter_windows(out)}
    exported = 0
    for path in paths:
        for sample in wds.WebDataset(str(path), shardshuffle=False):
            doc = json.loads(sample["json"])
            meta, members = originals[sample["__key__"]]
            text, images = _openflamingo_text_and_images(doc)
            expected = [members[e["member"] if e["kind"] == "image" else e["frames"][0]["member"]]
                        for e in meta["images"]]
            assert images == expected
            pieces = [p.replace("<EOC>", "").strip() for p in meta["text"].split("<image>")]
            ours = " ".join(p for p in [pieces[0]] + ["<image>" + p for p in pieces[1:]] if p)
            assert " ".join(text.split()) == " ".join(ours.split())  # each image before its own chunk
            exported += 1
    assert exported == len(originals) > 100
    assert not list((tmp_path / "mmc4").glob(".*tmp"))
