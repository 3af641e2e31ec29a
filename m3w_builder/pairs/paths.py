"""Local media paths in pair lists: which URLs are local files, their absolute `file://` form, and
which of them a list may name (reading one is `m3w_builder.read.local_files`)."""

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


def local_refusal(url: str, list_path: str, allowed: bool = True) -> tuple[str, str] | None:
    """(reason, detail) when the local path `url` of the list at `list_path` must not be read:
    `relative_url` for `//host/path` (a network URL without its scheme, not a path), and
    `local_path_refused` with `--no_local_paths`, in a list that is not itself a local file (its
    paths would name files of the worker, or be joined to nothing), or for a `file://` URL of
    another host (its path is not a file of this machine)."""
    if url.startswith(("//", "\\\\")):
        return "relative_url", "a scheme-relative URL (//host/path) names no scheme"
    if not allowed:
        return "local_path_refused", "local paths are refused (--no_local_paths)"
    if "://" in list_path:
        return "local_path_refused", f"a local path in a list that is not a local file ({list_path})"
    if url.startswith("file:") and urlsplit(url).netloc.lower() not in ("", "localhost"):
        return "local_path_refused", f"a file URL of another host ({urlsplit(url).netloc})"
    return None


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
