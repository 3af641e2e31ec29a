"""Atomic writes and small helpers over Beam's FileSystems (local, gs://, s3://), and the media
library's file access built on them (`BeamFiles`).

A file is written under a temporary name in the same folder and renamed when complete, so a
killed job never leaves a truncated file under a final name; `clean_stale_temporaries` removes
the leftovers of a killed run before a rerun.
"""

from __future__ import annotations

import errno
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from m3w_builder.media.files import LOCAL

TMP_MARK = ".tmp-"
# What the OS says when a file cannot be written for want of room or of a writable disk: full,
# over quota, larger than the filesystem or RLIMIT_FSIZE allows, read-only.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
_RELAYED = re.compile(r"\[Errno (\d+)\] ([^\[\]\n]+)")  # an OSError as a worker's message relays it
_STEP = re.compile(r"\[while running '([^']+)'\]")


def join(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()


def open_raw(path: str) -> BinaryIO:
    """Open for reading without Beam's automatic decompression (warcio handles per-record gzip)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def temp_name(path: str) -> str:
    """A hidden temporary name beside `path` (removed by `clean_stale_temporaries` if left over)."""
    folder, name = FileSystems.split(path)
    return FileSystems.join(folder, f".{name}{TMP_MARK}{uuid.uuid4().hex[:12]}")


def write_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(fileobj)` on a temporary file, then rename it to `path` (replacing it)."""
    tmp = temp_name(path)
    with FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        write(f)
    commit(tmp, path)


def commit(tmp: str, path: str) -> None:
    """Move a completed temporary file to its final name (replacing an earlier file)."""
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def write_bytes_atomic(path: str, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def clean_stale_temporaries(folder: str) -> int:
    """Delete temporary files of earlier (killed) runs in `folder`; returns how many."""
    pattern = FileSystems.join(folder, f".*{TMP_MARK}*")
    matches = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    if matches:
        FileSystems.delete(matches)
    return len(matches)


def ensure_dir(folder: str) -> None:
    """Create `folder` if needed; safe when parallel workers race to create it."""
    if FileSystems.exists(folder):
        return
    try:
        FileSystems.mkdirs(folder)
    except (OSError, RuntimeError):
        if not FileSystems.exists(folder):
            raise


def is_local(path: str) -> bool:
    """A path without a scheme: Beam's local filesystem, the OS's own."""
    return FileSystems.get_scheme(path) is None


class BeamFiles:
    """The media library's `Files` over Beam FileSystems, so `--mirror_dir` and `--media_cache`
    work on gs://, s3:// or any registered scheme. Local paths go to `LocalFiles`: only there can a
    link lead out of the mirror, and only there is a rename atomic. Object stores have no links,
    and the mirror builds its paths without `..`, so `within` needs no check for them."""

    def join(self, base: str, *parts: str) -> str:
        return LOCAL.join(base, *parts) if is_local(base) else join(base, *parts)

    def read(self, path: str, within: str | None = None) -> bytes | None:
        if is_local(path):
            return LOCAL.read(path, within)
        try:  # `exists` first: a missing object is not an OSError on every store (GCS: NotFound)
            return read_bytes(path) if exists(path) else None
        except OSError:  # BeamIOError included
            return None

    def write_atomic(self, path: str, data: bytes) -> bool:
        if is_local(path):
            return LOCAL.write_atomic(path, data)
        try:
            write_bytes_atomic(path, data)
        except OSError:
            return False
        return True


def storage_failure(error: BaseException) -> str | None:
    """What the OS said (and in which step) where `error` is a file of the job that could not be
    written for want of room or a writable disk, found in its chain or in the text a Beam worker
    relayed it in; None for any other failure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            problem = f"[Errno {current.errno}] {current.strerror}"
            break
        relayed = [m for m in _RELAYED.finditer(str(current)) if int(m[1]) in STORAGE_ERRNOS]
        if relayed:
            problem = relayed[0][0].strip()
            break
        current = current.__cause__ or current.__context__
    else:
        return None
    step = _STEP.search(str(error))
    return problem + (f" (while running {step[1]})" if step else "")


@contextmanager
def stop_on_storage_failure(prog: str) -> Iterator[None]:
    """A command line's run: a full, read-only or failing disk ends it in one line saying so
    (not a traceback of Beam's stages); every other failure is raised as it was. Files are only
    ever renamed into place once whole, so what the run finished stays, and the same command
    resumes once there is room (the temporaries left behind are removed first)."""
    quiet = _StorageFailureLogs()
    logging.getLogger(_DOFN_LOGGER).addFilter(quiet)
    try:
        yield
    except Exception as error:
        problem = storage_failure(error)
        if problem is None:
            raise
        raise SystemExit(f"{prog}: error: a file of the job could not be written: {problem}; what was "
                         "finished is kept, and the same command resumes once there is room") from None
    finally:
        logging.getLogger(_DOFN_LOGGER).removeFilter(quiet)


_DOFN_LOGGER = "apache_beam.runners.common"  # where Beam logs the error a DoFn raised, traceback and all


class _StorageFailureLogs(logging.Filter):
    """Leaves out Beam's log record of a storage failure, whose traceback the one line replaces."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or storage_failure(error) is None
