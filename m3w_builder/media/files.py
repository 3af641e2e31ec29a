"""The file access the media mirror and the media cache go through, so the library stays free of
Beam: `LocalFiles` (the default) for local folders, and `pipelines.fs.BeamFiles` over Beam
FileSystems for gs://, s3://, ... on a real runner. Paths are strings throughout: `Path.resolve()`
on `gs://bucket/x` silently turns it into a local folder that holds nothing.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol


class Files(Protocol):
    """What the media library needs from a filesystem."""

    def join(self, base: str, *parts: str) -> str:
        """`base` and `parts` joined with this filesystem's separator."""
        ...

    def read(self, path: str, within: str | None = None) -> bytes | None:
        """The bytes of the file at `path`; None when it is absent, not a plain file, unreadable,
        not a valid name here, or (with `within`) outside that folder once links are followed."""
        ...

    def write_atomic(self, path: str, data: bytes) -> bool:
        """Store `data` at `path` under a temporary name first (no reader sees half a file);
        False when the storage refuses."""
        ...


@lru_cache(maxsize=64)
def _real_folder(folder: str) -> str:
    """`folder` with its links followed, once per folder: a mirror is asked for every media URL,
    and resolving it again was a visible share of a mirror read."""
    return os.path.realpath(folder)


def _is_inside(real: str, folder: str) -> bool:
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


class LocalFiles:
    """Local folders through the OS: links are followed (a link out of the mirror is refused), a
    write is a rename of a temporary file unique to the writing thread."""

    def join(self, base: str, *parts: str) -> str:
        return os.path.join(base, *parts)

    def read(self, path: str, within: str | None = None) -> bytes | None:
        try:
            real = os.path.realpath(path)
            if within is not None and not _is_inside(real, _real_folder(within)):
                return None
            if not os.path.isfile(real):
                return None
            with open(real, "rb") as handle:
                return handle.read()
        except (ValueError, OSError):  # embedded NUL, name too long, permission denied, link loops
            return None

    def write_atomic(self, path: str, data: bytes) -> bool:
        target = Path(path)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(target)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        return True


LOCAL = LocalFiles()
