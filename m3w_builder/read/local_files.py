"""Reading a local file without ever blocking on what is not a plain file (a FIFO a worker would
wait on forever, a device that never ends, a folder, a broken link), each with its own reason:
the pairs job reads local media with it, and both jobs check their `--input` files with it."""

from __future__ import annotations

import errno
import os
import stat

from m3w_builder.drops import Rejected


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
