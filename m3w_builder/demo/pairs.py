"""Embedded default inputs of the pairs job, byte-reproducible and offline.

- ALIGN: the sample crawl (`m3w_builder.demo.crawl`): real-shaped pages whose `<img>` alt texts
  range from good descriptions to "photo", logos and empty alts, with the images in the WARC.
- LTIP: `ltip.parquet` (url, caption = a long description, license, source) plus
  `ltip-media.warc.gz` holding the images; a few rows are broken on purpose (missing caption,
  duplicate row, a 404, a truncated JPEG, a too-small image) so the accounting shows.
- VTP: `vtp.jsonl` (url, caption, seconds) plus `vtp-media.warc.gz` holding short MP4/WebM clips of
  a moving ball described by the caption.

`write_sample_pairs(out_dir, source, seed)` returns `(list or crawl inputs, media WARCs)`.
CLI: `python -m m3w_builder.demo.pairs OUT_DIR --source ltip`.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from m3w_builder.demo import crawl_media as media
from m3w_builder.demo.crawl import write_sample_crawl
from m3w_builder.demo.crawl_text import describe, describe_clip
from m3w_builder.options import ArgumentParser

LTIP_HOST = "https://img.example-ltip.test"
VTP_HOST = "https://video.example-vtp.test"
SOURCES = ("align", "ltip", "vtp")
_DATE = "2024-05-01T00:00:00Z"


def _warc(records: list[tuple[str, int, str, bytes]], seed: int) -> bytes:
    """A gzipped WARC of response records (url, status, content type, body) with fixed ids/dates."""
    stream = io.BytesIO()
    writer = WARCWriter(stream, gzip=True)
    for url, status, content_type, body in records:
        reason = "OK" if status == 200 else "Not Found"
        http = StatusAndHeaders(f"{status} {reason}", [("Content-Type", content_type),
                                                       ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        rec_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'pairs/{seed}/{url}')}>"
        record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                           http_headers=http,
                                           warc_headers_dict={"WARC-Record-ID": rec_id, "WARC-Date": _DATE})
        writer.write_record(record)
    return stream.getvalue()


def _long_caption(rng: random.Random, spec: media.ShapeSpec, size: tuple[int, int]) -> str:
    w, h = size
    layout = "landscape" if w > h else "portrait" if h > w else "square"
    return (f"{describe(rng, spec.colour, spec.shape, spec.background)} It is a {layout} picture, "
            f"{w} by {h} pixels, with soft uneven lighting across the {spec.background} background; "
            f"the {spec.colour} {'pattern' if spec.shape == 'stripes' else spec.shape} sits close to the "
            f"centre and fills about a third of the frame.")


def ltip_sample(seed: int = 0, n: int = 40) -> tuple[bytes, bytes]:
    """(list parquet bytes, media WARC bytes) of the LTIP sample."""
    rng = random.Random(f"ltip/{seed}")
    rows: list[dict] = []
    records: list[tuple[str, int, str, bytes]] = []
    for i in range(n):
        spec = media.random_spec(rng)
        size = media.CONTENT_SIZES[i % len(media.CONTENT_SIZES)]
        size = (size[0] * 2, size[1] * 2)
        fmt = ("jpeg", "png", "webp", "progressive")[i % 4]
        url = f"{LTIP_HOST}/{i // 10:02d}/{spec.colour}-{spec.shape}-{i:03d}.{ 'jpg' if fmt in ('jpeg', 'progressive') else fmt}"
        body = media.encode(media.draw_shape(spec, size), fmt)
        ctype = {"png": "image/png", "webp": "image/webp"}.get(fmt, "image/jpeg")
        records.append((url, 200, ctype, body))
        rows.append({"url": url, "caption": _long_caption(rng, spec, size), "license": "CC0-1.0", "source": "sample"})
    broken = media.random_spec(rng)
    cut = f"{LTIP_HOST}/broken/truncated.jpg"
    records.append((cut, 200, "image/jpeg", media.truncated_jpeg(media.draw_shape(broken, (400, 300)))))
    tiny = f"{LTIP_HOST}/broken/tiny.png"
    records.append((tiny, 200, "image/png", media.encode(media.draw_shape(broken, (64, 48)), "png")))
    gone = f"{LTIP_HOST}/broken/gone.jpg"
    records.append((gone, 404, "text/html", b"<html><body>Not Found</body></html>"))
    rows += [
        {"url": cut, "caption": _long_caption(rng, broken, (400, 300)), "license": "CC0-1.0", "source": "sample"},
        {"url": tiny, "caption": _long_caption(rng, broken, (64, 48)), "license": "CC0-1.0", "source": "sample"},
        {"url": gone, "caption": "A picture that was deleted before the crawl.", "license": None, "source": "sample"},
        {"url": rows[0]["url"], "caption": None, "license": "CC0-1.0", "source": "sample"},  # missing caption
        dict(rows[1]),  # duplicate row
        {"url": rows[2]["url"], "caption": "The same picture described again in other words: "
         + rows[2]["caption"].lower(), "license": "CC0-1.0", "source": "sample"},  # shared URL, new caption
    ]
    table = pa.Table.from_pylist(rows, schema=pa.schema([("url", pa.string()), ("caption", pa.string()),
                                                         ("license", pa.string()), ("source", pa.string())]))
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue(), _warc(records, seed)


def vtp_sample(seed: int = 0, n: int = 6) -> tuple[bytes, bytes]:
    """(list jsonl bytes, media WARC bytes) of the VTP sample."""
    rng = random.Random(f"vtp/{seed}")
    lines: list[str] = []
    records: list[tuple[str, int, str, bytes]] = []
    for i in range(n):
        colour = rng.choice(media.SHAPE_COLOURS)
        background = rng.choice([c for c in media.PALETTE if c not in (colour, "grey")])
        direction = ("right", "down")[i % 2]
        container = ("mp4", "webm")[i % 2]
        spec = media.ClipSpec(colour, background, direction, 2 + i % 3, (160, 120))
        url = f"{VTP_HOST}/clips/{i:03d}-{colour}-{direction}.{container}"
        records.append((url, 200, f"video/{container}", media.encode_clip(spec, container)))
        lines.append(json.dumps({"url": url, "caption": describe_clip(colour, background, direction),
                                 "seconds": spec.seconds}))
    broken = f"{VTP_HOST}/clips/broken.mp4"
    records.append((broken, 200, "video/mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(200)))
    lines.append(json.dumps({"url": broken, "caption": "A clip whose file is damaged.", "seconds": 3}))
    lines.append('{"url": "' + VTP_HOST + '/clips/cut-off.mp4", "caption": "a line cut o')  # broken JSON
    return ("\n".join(lines) + "\n").encode("utf-8"), _warc(records, seed)


def write_sample_pairs(out_dir: str | Path, source: str, seed: int = 0) -> tuple[list[str], list[str]]:
    """Write the default input of `source`; returns (inputs, media WARCs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if source == "align":
        return [str(write_sample_crawl(out, seed))], []
    if source == "ltip":
        listing, warc = ltip_sample(seed)
        names = ("ltip.parquet", "ltip-media.warc.gz")
    elif source == "vtp":
        listing, warc = vtp_sample(seed)
        names = ("vtp.jsonl", "vtp-media.warc.gz")
    else:
        raise ValueError(f"unknown source {source!r}")
    (out / names[0]).write_bytes(listing)
    (out / names[1]).write_bytes(warc)
    return [str(out / names[0])], [str(out / names[1])]


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description="Write the embedded default input of the pairs job.")
    parser.add_argument("out_dir")
    parser.add_argument("--source", choices=SOURCES, default="ltip")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(write_sample_pairs(args.out_dir, args.source, args.seed)))


if __name__ == "__main__":
    main()
