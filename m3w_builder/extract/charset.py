"""Decode a page's bytes to text: BOM, then UTF-8, then HTTP header and `<meta>`, then detection.

Declarations lie on the real web (a UTF-16 page whose meta says `x-sjis`, a UTF-8 page declared
as latin-1), so a declared charset is only trusted when the bytes decode under it (the HTTP
header's before the `<meta>`'s, one they decode under without a bad byte before both); bytes that are
valid UTF-8 with non-ASCII content are UTF-8 whatever the declaration says (legacy encodings almost
never form valid multi-byte UTF-8 by chance), and so are bytes nearly all of whose non-ASCII bytes
form UTF-8 (a stray byte in a UTF-8 page). charset-normalizer detects the rest.

A declaration is a label of the WHATWG Encoding standard, read as browsers read it (`latin1` and
`ascii` are windows-1252); a name only Python's codec registry knows (`utf-7`, `cp500`) is none, and
a page declared in an encoding browsers never decode (`hz-gb-2312`, `iso-2022-kr`) whose bytes hold
its escapes is `Rejected(replacement_charset)`. Some bytes tell their encoding themselves: a BOM,
the NULs of BOM-less UTF-16/32, the escapes of 7-bit ISO-2022-JP. Bytes that are no text in any
encoding (compressed, encrypted) are `Rejected(not_text)`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

from m3w_builder.drops import Rejected

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
REPLACEMENT = "replacement"
# The labels of the WHATWG Encoding standard (https://encoding.spec.whatwg.org/#names-and-labels),
# keyed by the Python codec that decodes their encoding as browsers do; `replacement` names the
# encodings browsers never decode. x-user-defined reads as windows-1252 (as the HTML standard
# reads it in a `<meta>`); ISO-2022-JP's decoder also takes JIS X 0201 katakana, as WHATWG's does.
_WEB_LABELS = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
    "iso8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3",
    "iso8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4",
    "iso8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988",
    "iso8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e "
                 "iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
    "iso8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 "
                 "iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    "iso8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 "
                 "iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    "iso8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "mac-roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
              "iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252 x-user-defined",
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 latin5 "
              "windows-1254 x-cp1254",
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp_ext": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 "
             "windows-949",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    REPLACEMENT: "csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement",
}
_WEB_CODECS = {label: codec for codec, labels in _WEB_LABELS.items() for label in labels.split()}
# The prescan of the HTML standard over the `<meta>` tags that start in the page's first 4 KiB (a tag
# may end past them): comments skipped (`<!-->` is one, an open one runs to the end), each meta's own
# attributes read (quoted values may hold `>`), a `content`'s charset only under http-equiv=content-type.
_PRESCAN = 4096
_META_TAG_RE = re.compile(rb"""<!--(?:-?>|.*?-->|.*)|<meta(?=[\s/])((?:[^>"']|"[^"]*"|'[^']*')*)>""",
                          re.IGNORECASE | re.DOTALL)
_ATTRIBUTE_RE = re.compile(rb"""([^\s/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
_CONTENT_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)
_HEADER_RE = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)""", re.IGNORECASE)
# A declared charset is accepted with replacement characters up to this share of the text.
_MAX_REPLACEMENT_SHARE = 0.005


@dataclass(frozen=True)
class Decoded:
    """Decoded page text and how its encoding was chosen."""

    text: str
    encoding: str
    method: str  # bom | wide | utf8 | escapes | mostly_utf8 | header | meta | detected | fallback


def web_encoding(label: str | None) -> str | None:
    """The Python codec of the encoding a browser decodes under `label` (WHATWG's labels only),
    `REPLACEMENT` for a label of an encoding browsers never decode, None for no web label: a
    page's `utf-7`, `cp500` (EBCDIC) or `unicode_escape` is no declaration at all."""
    if not label:
        return None
    return _WEB_CODECS.get(label.strip(" \t\n\f\r\"'").lower())


def normalize_label(label: str | None) -> str | None:
    """A web label's codec (`web_encoding`), else the Python codec `label` names, or None: for
    encodings a user names (a list's `--list_encoding`), which need not be a browser's."""
    codec = web_encoding(label)
    if codec is not None and codec != REPLACEMENT:
        return codec
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'").lower()).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of an HTTP Content-Type header, if any."""
    if not content_type:
        return None
    match = _HEADER_RE.search(content_type)
    return match.group(1) if match else None


def meta_charset(data: bytes) -> str | None:
    """The first web label (`web_encoding`) a `<meta>` declares, as the HTML standard's prescan reads
    it (see `_META_TAG_RE`): a `charset` attribute, or the charset of a `content` when `http-equiv`
    is `content-type`. A regex over the bytes took a meta inside a comment (a template's
    `<!-- <meta charset="windows-1251"> -->`), a description's `content="... charset=utf-8 ..."` or
    a `data-charset` for the page's declaration."""
    for tag in _META_TAG_RE.finditer(data, 0, _PRESCAN + 1024):
        if tag.start() >= _PRESCAN:
            break
        if tag.group(1) is None:  # a comment
            continue
        attributes: dict[bytes, bytes] = {}
        for name, value in _ATTRIBUTE_RE.findall(tag.group(1)):
            attributes.setdefault(name.lower(), value.strip(b"\"'"))
        label = attributes.get(b"charset")
        if not label and attributes.get(b"http-equiv", b"").strip().lower() == b"content-type":
            found = _CONTENT_CHARSET_RE.search(attributes.get(b"content", b""))
            label = found.group(1) if found else None
        if label:
            text = label.decode("ascii", "replace")
            if web_encoding(text) is not None:
                return text
    return None


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
    if not _has_bom(data) and _wide_without_bom(data) is None and valid_utf8(data) and not _stateful_7bit(data):
        return data, "utf-8"
    decoded = decode_html(data, content_type)
    return decoded.text.encode("utf-8", errors="replace"), decoded.encoding


# UTF-16 and UTF-32 without a BOM, told by the NULs of the page's first KiB: (encoding, the byte
# places modulo 4 that hold a character's high bytes, NUL in at least `_WIDE_ZEROS` of them (ASCII
# markup, spaces, digits), and those of its low bytes, NUL in at most `_WIDE_TEXT_ZEROS` (U+4E00 is one)).
_WIDE_HEAD = 1024
_WIDE_PATTERNS = (
    ("utf-32-le", (2, 3), (0,)), ("utf-32-be", (0, 1), (3,)),
    ("utf-16-le", (1, 3), (0, 2)), ("utf-16-be", (0, 2), (1, 3)),
)
_WIDE_ZEROS, _WIDE_TEXT_ZEROS = 0.1, 0.02


def _wide_without_bom(data: bytes) -> str | None:
    """The wide encoding of a BOM-less UTF-16/32 page: its ASCII markup is a NUL at every other
    byte (UTF-16) or three in four (UTF-32). Such a page is valid UTF-8 to a byte check, its NULs
    stripped later, so its ASCII read right and its Cyrillic or CJK text was silent mojibake."""
    head = data[:_WIDE_HEAD]
    units = len(head) // 4
    if units < 4 or b"\x00" not in head:
        return None
    nuls = [head[place:units * 4:4].count(0) / units for place in range(4)]
    for encoding, zero, text in _WIDE_PATTERNS:
        if all(nuls[place] >= _WIDE_ZEROS for place in zero) and all(nuls[place] <= _WIDE_TEXT_ZEROS for place in text):
            return encoding
    return None


# ISO-2022-JP's designations of its Japanese sets (JIS X 0208 1978/1983, 0201 Roman and katakana)
_ISO2022JP = "iso2022_jp_ext"
_ISO2022JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I")


def _stateful_7bit(data: bytes) -> bool:
    """Whether `data` is 7-bit and holds an escape (ISO-2022-JP/KR/CN) or HZ's `~{`: text in a
    stateful 7-bit encoding is valid UTF-8 to a byte check, and its characters ASCII mojibake
    whose `<` bytes the parser takes for tags."""
    return data.isascii() and (b"\x1b" in data or b"~{" in data)  # most pages are not ASCII: asked first


def _seven_bit(data: bytes, text: str, content_type: str | None) -> Decoded:
    """A stateful 7-bit page (`_stateful_7bit`): rejected when a declaration names an encoding
    browsers never decode (WHATWG's `replacement`: ISO-2022-KR/CN, HZ), ISO-2022-JP when it holds
    that encoding's escapes and reads under it (browsers detect it too), else the ASCII it is."""
    for label in (header_charset(content_type), meta_charset(data)):
        if web_encoding(label) == REPLACEMENT:
            raise Rejected("replacement_charset", f"declared {label!r}: browsers never decode it "
                           "(WHATWG's replacement encoding), and read as ASCII its text is escape codes")
    if any(escape in data for escape in _ISO2022JP_ESCAPES):
        try:
            return Decoded(data.decode(_ISO2022JP), _ISO2022JP, "escapes")
        except UnicodeDecodeError:
            pass
    return Decoded(text, "utf-8", "utf8")


# UTF-8 with a few bad bytes: at most this share of its non-ASCII bytes start no valid sequence (in
# legacy-encoded text 0.57 or more: every shared page and a Latin, Cyrillic, Greek, Hebrew, Arabic,
# Thai, Japanese, Chinese and Korean sample; multi-byte encodings' pairs form UTF-8 now and then).
_MAX_BAD_UTF8_SHARE = 0.05
_ASCII = bytes(range(128))


def _mostly_utf8(data: bytes) -> str | None:
    """`data` read as UTF-8 when nearly all of its non-ASCII bytes form UTF-8: a stray byte, a
    sequence cut in two, windows-1252 quotes pasted into a UTF-8 template. Undeclared, detection read
    such a page whole as cp932 or mac_iceland (`crème` became `crﾃｨme`, `’` `‚Äô`); a legacy
    declaration read it as that encoding."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return text if bad <= _MAX_BAD_UTF8_SHARE * len(data.translate(None, _ASCII)) else None


# C0 controls but NUL, whitespace and ESC (ISO-2022): random, compressed or encrypted bytes hold
# ~10% of them, legacy-encoded text about none (at most 0.1% on the shared pages).
_BINARY_BYTES = bytes([*range(1, 9), 11, *range(14, 27), *range(28, 32)])
_BINARY_SAMPLE = 65536
_MAX_BINARY_SHARE = 0.03


def _check_text(data: bytes) -> None:
    """Raise `Rejected(not_text)` for bytes that are no text in any encoding (compressed, encrypted,
    random; known formats are told by their magic before): every 8-bit codec or the UTF-8
    fallback read them into a document of mojibake."""
    sample = data[:_BINARY_SAMPLE]
    binary = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    if binary > _MAX_BINARY_SHARE * len(sample):
        raise Rejected("not_text", f"{binary} of the first {len(sample)} bytes are control bytes text never holds")


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
    wide = _wide_without_bom(data)
    if wide is not None:
        return Decoded(data.decode(wide, errors="replace"), wide, "wide")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _stateful_7bit(data):
            return _seven_bit(data, text, content_type)
        return Decoded(text, "utf-8", "utf8")
    _check_text(data)
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return Decoded(mostly, "utf-8", "mostly_utf8")
    # The header before the meta, but a declaration the bytes decode under cleanly before one with
    # bad bytes: an EUC-JP page whose header says Shift_JIS decodes under it with ~1% mojibake
    # and a few replacements, and under its meta's EUC-JP with none.
    tolerated: Decoded | None = None
    for method, label in (("header", header_charset(content_type)), ("meta", meta_charset(data))):
        encoding = web_encoding(label)
        if encoding in (None, REPLACEMENT) or encoding.startswith("utf-16"):
            continue  # no 8-bit encoding: a BOM-less UTF-16 page was told by its NULs above
        if tolerated is not None and encoding == tolerated.encoding:
            continue
        decoded = _decode_declared(data, encoding)
        if decoded is not None and decoded[1]:
            return Decoded(decoded[0], encoding, method)
        if decoded is not None and tolerated is None:
            tolerated = Decoded(decoded[0], encoding, method)
    if tolerated is not None:
        return tolerated
    sample = data[:65536]
    best = _detected(sample.replace(b"\x00", b"") if b"\x00" in sample else sample)  # NULs defeat detection
    if best is not None:
        return Decoded(data.decode(best, errors="replace"), best, "detected")
    return Decoded(data.decode("utf-8", errors="replace"), "utf-8", "fallback")
