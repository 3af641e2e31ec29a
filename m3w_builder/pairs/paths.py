"""Local media paths in pair lists: which URLs are local files, and their absolute `file://` form."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

# Characters of a file name that would otherwise end a URL's path (`#`, `?`), read as an escape
# (`%`) or be deleted by `urlsplit` (tab, CR, LF)
_ESCAPES = str.maketrans({"%": "%25", "#": "%23", "?": "%3F", "\t": "%09", "\r": "%0D", "\n": "%0A"})


def is_local(url: str) -> bool:
    """A `file:` URL or a plain path (a one-letter scheme is a Windows drive)."""
    scheme = urlsplit(url).scheme
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt")


def local_url(url: str, list_path: str) -> str:
    """A local path of a list row as an absolute `file://` URL (relative to the list's folder);
    `%`, `#`, `?`, tab, CR and LF of a file name are escaped, so `local_path` gives back the same file."""
    path = unquote(urlsplit(url).path) if url.startswith("file:") else url
    if not os.path.isabs(path) and "://" not in list_path:
        path = os.path.join(os.path.dirname(os.path.abspath(list_path)), path)
    return "file://" + os.path.normpath(path).translate(_ESCAPES)


def local_path(url: str) -> str:
    """The file a `local_url` names."""
    return unquote(urlsplit(url).path)
