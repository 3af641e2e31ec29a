"""Atomic writes and small helpers over Beam's FileSystems (local, gs://, s3://).

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
