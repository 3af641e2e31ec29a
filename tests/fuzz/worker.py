"""Fuzz worker: runs one target over inputs framed on stdin, one JSON verdict line each on stdout.

Started by `harness.py` in its own process with an address-space limit (`resource.setrlimit`);
a verdict is `ok`, `rejected` (a clean, counted rejection), `memory` (MemoryError or an
`out_of_memory` rejection) or `crash` (any other exception, with its type and message).
"""

from __future__ import annotations

import io
import json
import re
import resource
import struct
import sys
import traceback

from m3w_builder.drops import Rejected

MARKER = re.compile(r"<\s*(image|eoc)\s*>", re.IGNORECASE)


def _image(data: bytes) -> bool:
    from m3w_builder.media.images import ImageOptions, process_image

    process_image(data, ImageOptions(min_side=1, min_aspect=0.0, max_aspect=1e9))
    return True


def _video(data: bytes) -> bool:
    from m3w_builder.media.images import ImageOptions
    from m3w_builder.media.video import VideoOptions, extract_frames

    extract_frames(data, VideoOptions(max_frames=4, image=ImageOptions(image_size=64)))
    return True


def _warc(data: bytes) -> bool:
    from m3w_builder.read.records import WebRecord, read_archive

    items = list(read_archive(lambda: io.BytesIO(data), "fuzz.warc"))
    return any(isinstance(item, WebRecord) for item in items)


def _html(data: bytes) -> bool:
    from m3w_builder.extract import extract
    from m3w_builder.samples.markers import fold, render_text

    doc = extract(data, "http://fuzz.test/page.html").document
    n_image = fold(render_text(doc)).lower().count("<image>")  # as the tokenizer will see it
    if n_image != len(doc.media):
        raise AssertionError(f"{n_image} <image> markers for {len(doc.media)} media nodes")
    return True


def _text(data: bytes) -> bool:
    from m3w_builder.samples.markers import fold, neutralise

    safe = neutralise(data.decode("utf-8"))
    if MARKER.search(fold(safe)):
        raise AssertionError(f"marker survives neutralise: {safe!r}")
    return True


TARGETS = {"image": _image, "video": _video, "warc": _warc, "html": _html, "text": _text}


def _frames():
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(8)
        if len(head) < 8:
            return
        (size,) = struct.unpack(">Q", head)
        yield stdin.read(size)


def main() -> None:
    target, limit_mib = sys.argv[1], int(sys.argv[2])
    if limit_mib:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mib << 20, limit_mib << 20))
    run = TARGETS[target]
    out = sys.stdout
    for data in _frames():
        try:
            verdict = {"outcome": "ok" if run(data) else "rejected"}
        except Rejected as rejected:
            outcome = "memory" if rejected.reason == "out_of_memory" else "rejected"
            verdict = {"outcome": outcome, "detail": rejected.reason}
        except MemoryError:
            verdict = {"outcome": "memory", "detail": "MemoryError"}
        except Exception as error:  # noqa: BLE001 - exactly what the fuzzer is here to find
            frame = traceback.extract_tb(error.__traceback__)[-1]
            verdict = {"outcome": "crash", "detail": f"{type(error).__name__}: {str(error)[:200]} "
                       f"at {frame.filename}:{frame.lineno}"}
        out.write(json.dumps(verdict) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
