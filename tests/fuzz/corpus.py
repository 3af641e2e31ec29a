"""Fuzz inputs: the real files in ../shared/data, mutated with a seed, plus generated hostile pages.

Mutations (each seeded, so a run is reproducible from its seed): bit flips, truncation, chunk
duplication, chunk deletion, random byte runs inserted. Hostile pages: deep nesting, attribute
floods, huge `srcset`, thousands of `<img>`, control characters, marker look-alikes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MAX_SEED_BYTES = 4 * 1024 * 1024  # larger files are mutated too slowly to be worth it here

# target → (folder under ../shared/data, file suffixes)
SOURCES = {
    "image": ("images", (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".ico", ".mpo")),
    "video": ("video", (".mp4", ".webm", ".mkv", ".mov", ".avi", ".flv", ".3g2", ".wmv", ".mpg", ".mpeg", ".ogv")),
    "warc": ("warc", (".warc", ".warc.gz", ".arc", ".arc.gz")),
    "html": ("html", (".html", ".htm")),
}


def seed_files(target: str) -> list[Path]:
    """The real files a target's inputs are mutated from (sorted: the same list every run)."""
    folder, suffixes = SOURCES[target]
    root = DATA / folder
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes)
                  and ".expected." not in p.name and p.stat().st_size <= MAX_SEED_BYTES)


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One seeded mutation of `data`: (name, mutated bytes)."""
    if not data:
        return "empty", b""
    kind = rng.choice(("bitflip", "truncate", "duplicate", "delete", "insert", "bitflip_head"))
    buf = bytearray(data)
    n = len(buf)
    if kind in ("bitflip", "bitflip_head"):
        span = min(n, 512) if kind == "bitflip_head" else n
        for _ in range(rng.randint(1, 16)):
            buf[rng.randrange(span)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del buf[rng.randrange(n):]
    elif kind == "duplicate":
        start = rng.randrange(n)
        chunk = buf[start:start + rng.randint(1, max(1, n // 4))]
        at = rng.randrange(n)
        buf[at:at] = chunk * rng.randint(1, 8)
    elif kind == "delete":
        start = rng.randrange(n)
        del buf[start:start + rng.randint(1, max(1, n // 8))]
    else:
        at = rng.randrange(n)
        buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return kind, bytes(buf)


LOOK_ALIKES = ["\uff1cimage\uff1e", "\ufe64EOC\ufe65", "<\uff49\uff4d\uff41\uff47\uff45>", "<ima\x01ge>", "<EO\u216d>"]


def hostile_pages(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Generated pages of the shapes that have stalled or crashed parsers."""
    words = " ".join(rng.choice(("red", "blue", "cat", "house", "river")) for _ in range(200))
    yield "deep_nesting", ("<html><body>" + "<div>" * rng.randint(200, 3000) + words + "<img src=a.jpg>"
                           + "</div>" * 100).encode()
    yield "attribute_flood", ("<html><body><div " + " ".join(f"a{i}=x" for i in range(rng.randint(1000, 20000)))
                              + f">{words}</div><img src=a.jpg></body></html>").encode()
    yield "huge_srcset", ("<html><body><p>" + words + '</p><img srcset="' + ", ".join(
        f"i{i}.jpg {i + 1}w" for i in range(rng.randint(1000, 20000))) + '"></body></html>').encode()
    yield "many_images", ("<html><body><p>" + words + "</p>" + "".join(
        f'<img src="i{i}.jpg" alt="x">' for i in range(rng.randint(1000, 10000))) + "</body></html>").encode()
    controls = "".join(chr(rng.choice([*range(0, 32), 0x7F, 0x85, 0xFFFE, 0xFFFF, 0xD800 - 1])) for _ in range(500))
    yield "control_chars", (f"<html><body><p>{words}{controls}&#1;&#0;&#xD800;&#x10FFFF;</p>"
                            f"<img src=a.jpg alt='{controls}'></body></html>").encode("utf-8", "surrogatepass")
    forged = " ".join(rng.choice(LOOK_ALIKES) for _ in range(50))
    yield "marker_look_alikes", (f"<html><head><title>{forged}</title></head><body><p>{words} {forged}</p>"
                                 f"<figure><img src=a.jpg alt='{forged}'><figcaption>{forged}</figcaption>"
                                 "</figure></body></html>").encode()


def inputs(target: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """`count` (label, bytes) inputs for `target`, the same for the same seed."""
    rng = random.Random(f"{target}:{seed}")
    made = 0
    if target == "html":
        for name, page in hostile_pages(rng):
            if made < count:
                yield f"hostile:{name}", page
                made += 1
    if target == "text":
        while made < count:
            pieces = [rng.choice(LOOK_ALIKES + ["<", ">", "image", "EOC", " ", "\uff1c", "\ufe65", "\x7f", "x"])
                      for _ in range(rng.randint(1, 40))]
            yield f"text:{made}", "".join(pieces).encode("utf-8")
            made += 1
        return
    files = seed_files(target)
    if not files:
        return
    cache: dict[Path, bytes] = {}
    while made < count:
        path = rng.choice(files)
        data = cache.setdefault(path, path.read_bytes())
        name, mutated = mutate(data, rng)
        yield f"{path.relative_to(DATA)}:{name}:{made}", mutated
        made += 1
