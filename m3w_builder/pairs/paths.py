"""Local media paths in pair lists: which URLs are local files, their absolute `file://` form,
and reading one without ever blocking on what is not a plain file."""

from __future__ import annotations

import errno
import os
import stat
from urllib.parse import unquote, urlsplit

from m3w_builder.drops import Rejected

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


def read_local_file(path: str, max_bytes: int) -> bytes:
    """The bytes of the plain file at `path`, or `Rejected` with what is wrong: `local_missing`,
    `local_broken_link` (a dangling or looping link), `local_not_a_file` (a folder, FIFO, device,
    socket), `local_unreadable` (permission, I/O error), `local_bad_path` (a NUL in the name) or
    `too_large_bytes` (over `max_bytes`). The file is opened non-blocking and checked with `fstat`
    before a byte is read, so a FIFO without writer or `/dev/zero` cannot stall or flood a worker."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except ValueError as error:  # an embedded NUL
        raise Rejected("local_bad_path", f"{path!r}: {error}") from None
    except OSError as error:
        raise Rejected(_open_reason(path, error), f"{path}: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Rejected("local_not_a_file", f"{path}: {_file_type(info.st_mode)}, not a plain file")
        if info.st_size > max_bytes:
            raise Rejected("too_large_bytes", f"{info.st_size} > {max_bytes} bytes")
        chunks, size = [], 0
        while size <= max_bytes:  # the file may grow while it is read: never more than the cap
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise Rejected("too_large_bytes", f"more than {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as error:
        raise Rejected("local_unreadable", f"{path}: {error.strerror or error}") from None
    finally:
        os.close(fd)


def local_file_problem(path: str) -> tuple[str, str] | None:
    """(reason, detail) when the local `path` is no plain file, with `read_local_file`'s reasons;
    found by `stat`, nothing opened: what lists a path before reading it (a job's `--input`) is
    not blocked by a FIFO or flooded by a device."""
    try:
        info = os.stat(path)
    except ValueError as error:  # an embedded NUL
        return "local_bad_path", f"{path!r}: {error}"
    except OSError as error:
        return _open_reason(path, error), f"{path}: {error.strerror or error}"
    if not stat.S_ISREG(info.st_mode):
        return "local_not_a_file", f"{path}: {_file_type(info.st_mode)}, not a plain file"
    return None


def _open_reason(path: str, error: OSError) -> str:
    """The reason code of a failed `open`."""
    if error.errno == errno.ELOOP or (error.errno == errno.ENOENT and os.path.islink(path)):
        return "local_broken_link"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return "local_missing"
    if error.errno == errno.EISDIR:
        return "local_not_a_file"
    if error.errno == errno.ENAMETOOLONG:
        return "local_bad_path"
    return "local_unreadable"


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"
