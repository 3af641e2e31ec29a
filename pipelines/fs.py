"""Atomic writes and small helpers over Beam's FileSystems (local, gs://, s3://), and the media
library's file access built on them (`BeamFiles`).

A file is written under a temporary name in the same folder and renamed when complete, so a
killed job never leaves a truncated file under a final name; `clean_stale_temporaries` removes
the leftovers of a killed run before a rerun.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from m3w_builder.media.files import LOCAL

TMP_MARK = ".tmp-"


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
    except (IOError, OSError, RuntimeError):
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
