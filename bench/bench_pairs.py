"""Pairs job throughput: stored pairs per core-second on the embedded ALIGN and LTIP inputs.

Two measurements per source: the whole Beam job in-process (FnApiRunner, one worker; includes
graph start-up) and its per-item stages alone (list read or page harvest + media decode/resize +
sample composition), which is what a long job spends its time on. CPU time is user+sys of this
process. Run: python bench/bench_pairs.py
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from m3w_builder.demo.pairs import write_sample_pairs  # noqa: E402
from m3w_builder.drops import Rejected  # noqa: E402
from m3w_builder.media.images import ImageOptions  # noqa: E402
from m3w_builder.media.process import process_media  # noqa: E402
from m3w_builder.pairs.align import CaptionRules, check_candidate, harvest  # noqa: E402
from m3w_builder.pairs.items import make_item, pair_sample  # noqa: E402
from m3w_builder.read.lists import read_list  # noqa: E402
from m3w_builder.read.records import read_archive  # noqa: E402
from m3w_builder.samples.assemble import ShardSample  # noqa: E402
from pipelines.pairs import run  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def media_of(warcs: list[str]) -> dict[str, bytes]:
    out = {}
    for path in warcs:
        for rec in read_archive(lambda p=path: open(p, "rb"), path):
            if getattr(rec, "is_media", False):
                out[rec.url] = rec.body
    return out


def stages(source: str, inputs: list[str], media_inputs: list[str]) -> int:
    """The per-item work without Beam; returns the number of pairs stored."""
    images = ImageOptions(min_side=200 if source == "align" else 64, min_aspect=1 / 4, max_aspect=4.0)
    if source == "align":
        bodies = media_of(inputs)
        items = []
        for rec in read_archive(lambda: open(inputs[0], "rb"), inputs[0]):
            if getattr(rec, "is_html", False):
                try:
                    for c in harvest(rec.body, rec.url):
                        try:
                            check_candidate(c, CaptionRules(), 200)
                            items.append(make_item(c.src, c.alt, "image", rec.url, from_list=False))
                        except Rejected:
                            pass
                except Rejected:
                    pass
    else:
        bodies = media_of(media_inputs)
        rows = read_list(inputs[0], lambda: open(inputs[0], "rb"))
        items = [make_item(r.url, r.caption, "image", r.row_id) for r in rows if not r.error]
    stored = 0
    for item in {i.key: i for i in items}.values():
        data = bodies.get(item.url)
        if data is not None and isinstance(pair_sample(item, process_media(item.url, "image", data, images)), ShardSample):
            stored += 1
    return stored


def main() -> None:
    print("source  mode            pairs  cpu_s   pairs/core-s")
    with tempfile.TemporaryDirectory() as tmp:
        for source in ("align", "ltip"):
            inputs, media_inputs = write_sample_pairs(Path(tmp) / "in" / source, source)
            for mode in ("job (1 worker)", "stages"):
                start_cpu, start = cpu(), time.perf_counter()
                if mode == "stages":
                    pairs = stages(source, inputs, media_inputs)
                else:
                    args = ["--source", source, "--input", *inputs, "--output", str(Path(tmp) / source),
                            "--no_http", "--direct_num_workers=1"]
                    for m in media_inputs:
                        args += ["--media_input", m]
                    pairs = run(args)["stats"].get("pairs/kept", 0)
                used = cpu() - start_cpu
                print(f"{source:7} {mode:15} {pairs:5}  {used:6.2f}  {pairs / used:8.1f}   (wall {time.perf_counter() - start:.2f} s)")


if __name__ == "__main__":
    main()
