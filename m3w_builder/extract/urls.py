"""URL helpers for extraction: absolute resolution and `srcset` choice."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

_ALLOWED_SCHEMES = ("http", "https")
_NOT_A_URL = re.compile(r'[<>"{}]')  # JSON or markup in a lazy-load attribute is no URL
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
# No URI character (RFC 3986): a page's reference is read past them, as browsers read it (`resolve`);
# a URL a record or a url map names is no URL with them.
URI_BREAKS = re.compile(r"[\t\n\r]")
_BEFORE_QUERY = re.compile(r"[^?#]*")
# What no host may hold (WHATWG's forbidden domain code points; `:` only before a port)
_FORBIDDEN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_OTHER_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


# A plain absolute URL: lower-case scheme and host, path and query of ASCII characters allowed
# unescaped (no `%` escape, no `;`, no dot segment: nothing `resolve` would normalise), which
# `urlsplit` would split exactly here: the common case, resolved without urllib (~5x faster).
_PLAIN_URL_RE = re.compile(r"(https?)://([a-z0-9.-]+(?::[0-9]+)?)(/[A-Za-z0-9\-._~:/@!$&'()*+,=\[\]]*)?"
                           r"(?:\?([A-Za-z0-9\-._~:/?@!$&'()*+,;=\[\]]*))?(?:#.*)?", re.ASCII)


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _authority(scheme: str, host: str) -> str | None:
    """`host` (lower case, maybe with `:port`) as the WHATWG URL standard serialises it: its
    scheme's default port dropped (`a.test:80` and `a.test` are one origin, and an image named
    both ways was two URLs: two fetches, a crawl record under one never found for the other), an
    empty port too (`a.test:`), leading zeros of a port removed; None for a port no URL can have
    (over 65535, not digits), which browsers refuse to parse."""
    if ":" not in host or host.endswith("]"):
        return host
    name, _, port = host.rpartition(":")
    if ":" in name and not name.endswith("]"):  # `a.test:80:80`
        return None
    if not port:
        return name
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        return None
    port = str(int(port))
    return name if port == _DEFAULT_PORTS.get(scheme) else f"{name}:{port}"


def _as_browsers_read(ref: str) -> str:
    """`ref` as the WHATWG URL parser reads it in a page: tabs and line ends anywhere removed (a
    long `src` wrapped over lines loads in a browser; it was no URL here), and a backslash before
    the query a slash (`\\\\img.test\\a.jpg` is `//img.test/a.jpg`; it was a path on the page's host)."""
    if "\t" in ref or "\n" in ref or "\r" in ref:
        ref = ref.translate(_TAB_OR_NEWLINE)
    if "\\" in ref:
        end = _BEFORE_QUERY.match(ref).end()
        ref = ref[:end].replace("\\", "/") + ref[end:]
    return ref


def _plain(url: str) -> str | None:
    """`resolve`'s result for a plain absolute URL (see `_PLAIN_URL_RE`), None for any other."""
    match = _PLAIN_URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme, netloc, path, query = match.groups()
    authority = _authority(scheme, netloc)
    if (path and "/." in path) or authority is None:
        return None
    return f"{scheme}://{authority}{path or '/'}{'?' + query if query else ''}"


def _plain_join(base: str, ref: str) -> str | None:
    """`resolve`'s result for a host-relative (`//host/x`) or root-relative (`/x`, no dot segments)
    reference against a plain base, None for any other (urljoin decides those)."""
    match = _PLAIN_URL_RE.fullmatch(base)
    if match is None:
        return None
    if ref[1] == "/":
        return _plain(f"{match[1]}:{ref}")
    if "/." in ref.partition("?")[0].partition("#")[0]:
        return None
    return _plain(f"{match[1]}://{match[2]}{ref}")


def resolve(base: str, ref: str | None) -> str | None:
    """Absolute http(s) URL for `ref` against `base`, or None (data:, javascript:, garbage).

    Only spellings RFC 3986 (§6.2.2) calls equivalent are unified, so the URL fetched is the one
    meant: read as browsers read it (`_as_browsers_read`), scheme and host lowercased (the path
    keeps its case), the scheme's default and an empty port dropped (a port over 65535 is none),
    IDNA hosts in punycode, non-ASCII percent-encoded (w3lib's `safe_url_string`), dot segments
    removed, percent-escapes upper-cased and unreserved ones (`%7E`) decoded; the fragment and any
    userinfo are dropped (see `without_userinfo`)."""
    if not ref:
        return None
    ref = _as_browsers_read(ref.strip())
    if not ref or ref.startswith(("data:", "javascript:", "about:", "blob:", "#")) or _NOT_A_URL.search(ref):
        return None
    plain = _plain(ref) if ref[0] == "h" else _plain_join(base, ref) if ref[0] == "/" and len(ref) > 1 else None
    if plain is not None:
        return plain
    try:
        # an absolute URL is returned as it is by urljoin (which parses both URLs: the slow part)
        absolute = ref if ref[:8].lower().startswith(("http://", "https://")) else urljoin(base, ref)
        plain = _PLAIN.fullmatch(absolute) is not None
        parts = urlsplit(absolute if plain else safe_url_string(absolute))
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme.lower() not in _ALLOWED_SCHEMES or not host.partition(":")[0]:
        return None
    path, query = parts.path or "/", parts.query
    if not plain:
        path, query = _escapes(_remove_dot_segments(path)), _escapes(query)
    scheme = parts.scheme.lower()
    authority = _authority(scheme, host.lower())
    if authority is None or not _valid_host(authority):
        return None
    return urlunsplit((scheme, authority, path, query, ""))


def _valid_host(authority: str) -> bool:
    """Whether the host of `authority` is one a browser's URL parser accepts: ASCII once IDNA has
    mapped it (a name it could not map, `\ufffd.test`, a 70-letter label, stays as written) and
    without a forbidden code point (`a b.test`, `a^b.test`, `%69mg.test`); such a URL was stored
    and fetched, failing there under a reason that blamed the server."""
    if authority.startswith("["):
        return True
    name = authority.rpartition(":")[0] if authority.rpartition(":")[2].isdigit() else authority
    return name.isascii() and _FORBIDDEN_HOST.search(name) is None


def without_userinfo(url: str) -> str:
    """`url` without a `user:password@` part: a URL is stored in shards, manifests and rejects, and
    a password in it would be published with the dataset. Nothing is lost: the fetcher never sends
    userinfo (browsers refuse it on embedded images too), so the resource fetched is the same."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    at = rest.rfind("@", 0, end)
    return url if at == -1 else f"{scheme}://{rest[at + 1:]}"


# ASCII allowed unescaped in a URL, with no escape and no dot segment: nothing to normalise
_PLAIN = re.compile(r"(?!.*/\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _escapes(text: str) -> str:
    """Percent-escapes upper-cased, those of unreserved characters decoded (`%7e` → `~`)."""
    def one(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()
    return _ESCAPE.sub(one, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on an absolute path: `.` segments go, `..` removes the segment before it."""
    segments = path.split("/")[1:]
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")  # a trailing dot segment leaves the path ending in "/"
    return "/" + "/".join(out)


_SRCSET_URL_RE = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESCRIPTOR_RE = re.compile(r"[^,]*,?")


def parse_srcset(srcset: str) -> list[tuple[str, str]]:
    """`srcset` candidates as (url, descriptor) following the HTML parsing rules: a URL is a run of
    non-space characters (commas inside it are kept, a trailing comma ends the candidate), and a
    descriptor runs to the next comma. One left-to-right scan: linear in the attribute's length."""
    out: list[tuple[str, str]] = []
    position, end = 0, len(srcset)
    while position < end:
        match = _SRCSET_URL_RE.match(srcset, position)
        if match is None:
            break
        url, position = match.group(1), match.end()
        if url.endswith(","):
            out.append((url.rstrip(","), ""))
            continue
        match = _SRCSET_DESCRIPTOR_RE.match(srcset, position)
        position = match.end()
        descriptor = match.group().rstrip(",").split()
        out.append((url, descriptor[0] if descriptor else ""))
    return out


def best_srcset(srcset: str | None) -> str | None:
    """The largest candidate of a `srcset` (by width `w` or density `x` descriptor)."""
    if not srcset:
        return None
    best_url, best_score = None, -1.0
    for url, descriptor in parse_srcset(srcset):
        if url.startswith("data:"):
            continue
        try:
            score = float(descriptor[:-1]) if descriptor[-1:].lower() in ("w", "x") else 1.0
        except ValueError:
            score = 1.0
        if score > best_score:
            best_url, best_score = url, score
    return best_url


def base_url(page_url: str, href: str) -> str:
    """The base a `<base href>` sets (WHATWG "frozen base URL"): `href` resolved against the page;
    `data:`, `javascript:` and garbage leave the page's own. An absolute URL of another scheme
    (`file:///C:/saved/`, `ftp:`) is the base, so a relative source under it is that scheme's
    (`image_bad_scheme`), never taken for a URL on the page's host that the page did not name."""
    resolved = resolve(page_url, href)
    if resolved is not None:
        return resolved
    href = href.strip()
    scheme = _OTHER_SCHEME.match(href)
    if scheme and scheme.group().lower() not in ("data:", "javascript:", "http:", "https:"):
        return href
    return page_url
