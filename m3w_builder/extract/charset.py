"""Decode a page's bytes to text: BOM, then valid UTF-8, then HTTP header and `<meta>`, then detection.

Declarations lie on the real web (a UTF-16 page whose meta says `x-sjis`, a UTF-8 page declared
as latin-1), so a declared charset is only trusted when the bytes decode under it (the HTTP
header's before the `<meta>`'s, one they decode under without a bad byte before both); bytes that are
valid UTF-8 with non-ASCII content are UTF-8 whatever the declaration says (legacy encodings almost
never form valid multi-byte UTF-8 by chance). charset-normalizer detects the rest.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG maps these labels to supersets that browsers actually use.
_LABEL_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "big5": "big5hkscs",
}
_META_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)
_HEADER_RE = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)
# A declared charset is accepted with replacement characters up to this share of the text.
_MAX_REPLACEMENT_SHARE = 0.005


@dataclass(frozen=True)
class Decoded:
    """Decoded page text and how its encoding was chosen."""

    text: str
    encoding: str
    method: str  # bom | utf8 | header | meta | detected | fallback


def normalize_label(label: str | None) -> str | None:
    """Map a charset label to a Python codec name (browser supersets applied), or None."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _LABEL_SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP Content-Type header, if any."""
    if not content_type:
        return None
    match = _HEADER_RE.search(content_type)
    return match.group(1) if match else None


def meta_charset(data: bytes) -> str | None:
    """The charset declared by a `<meta>` in the first 4 KiB (the HTML prescan window)."""
    match = _META_RE.search(data[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def _decode_declared(data: bytes, encoding: str) -> tuple[str, bool] | None:
    """(text, clean) under a declared encoding, accepting a tiny share of bad bytes (`clean` False);
    None if it fails."""
    try:
        return data.decode(encoding), True
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") <= _MAX_REPLACEMENT_SHARE * max(len(text), 1):
            return text, False
        return None
    except LookupError:
        return None


_CHUNK = 16384


def valid_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8, decoding only its chunks that are not ASCII: on the dev pages
    ~45% of the bytes, so about twice as fast as decoding the page, and no page-sized string."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _CHUNK):
            chunk = data[start:start + _CHUNK]
            # an ASCII chunk is skipped, but still ends a sequence cut at the chunk boundary
            decoder.decode(b" " if chunk.isascii() else chunk)
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def _has_bom(data: bytes) -> bool:
    return data.startswith(tuple(bom for bom, _ in _BOMS))


def to_utf8(data: bytes, content_type: str | None = None) -> tuple[bytes, str]:
    """The page as UTF-8 bytes and the encoding `decode_html` chooses; a BOM-less valid UTF-8
    page (most of them) is returned as it is, never decoded to text."""
    if not _has_bom(data) and valid_utf8(data):
        return data, "utf-8"
    decoded = decode_html(data, content_type)
    return decoded.text.encode("utf-8", errors="replace"), decoded.encoding


# What a tie between detected encodings goes to: the web's legacy default (WHATWG's for most locales).
_TIE_PREFERENCE = "cp1252"


def _detected(sample: bytes) -> str | None:
    """charset-normalizer's encoding for `sample`, a tie going to windows-1252: it ranks encodings
    that read the bytes equally well (same chaos and coherence) in no meaningful order, and gave
    windows-1250 for French and Spanish windows-1252 text (`crème` read `crčme`, `piña` `pińa`)."""
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None or not best.encoding:
        return None
    tied = {m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)}
    return _TIE_PREFERENCE if _TIE_PREFERENCE in tied else best.encoding


def decode_html(data: bytes, content_type: str | None = None) -> Decoded:
    """Decode HTML bytes to text, choosing the encoding as described in the module docstring."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom):].decode(encoding, errors="replace"), encoding, "bom")
    try:
        text = data.decode("utf-8")
        return Decoded(text, "utf-8", "utf8")
    except UnicodeDecodeError:
        pass
    # The header before the meta, but a declaration the bytes decode under cleanly before one with
    # bad bytes: an EUC-JP page whose header says Shift_JIS decodes under it with ~1% mojibake
    # and a few replacements, and under its meta's EUC-JP with none.
    tolerated: Decoded | None = None
    for method, label in (("header", header_charset(content_type)), ("meta", meta_charset(data))):
        encoding = normalize_label(label)
        if encoding is None or encoding.startswith("utf-16") or encoding.startswith("utf-32"):
            continue  # a UTF-16 declaration on a BOM-less 8-bit stream is always a lie
        if tolerated is not None and encoding == tolerated.encoding:
            continue
        decoded = _decode_declared(data, encoding)
        if decoded is not None and decoded[1]:
            return Decoded(decoded[0], encoding, method)
        if decoded is not None and tolerated is None:
            tolerated = Decoded(decoded[0], encoding, method)
    if tolerated is not None:
        return tolerated
    best = _detected(data[:65536])
    if best is not None:
        return Decoded(data.decode(best, errors="replace"), best, "detected")
    return Decoded(data.decode("utf-8", errors="replace"), "utf-8", "fallback")
