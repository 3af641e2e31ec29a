"""The file access the media mirror and the media cache go through, so the library stays free of
Beam: `LocalFiles` (the default) for local folders, and `pipelines.fs.BeamFiles` over Beam
FileSystems for gs://, s3://, ... on a real runner. Paths are strings throughout: `Path.resolve()`
on `gs://bucket/x` silently turns it into a local folder that holds nothing.
"""

from __future__ import annotations

import os
import threading
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


class LocalFiles:
    """Local folders through the OS: links are followed (a link out of the mirror is refused), a
    write is a rename of a temporary file unique to the writing thread."""

    def join(self, base: str, *parts: str) -> str:
        return os.path.join(base, *parts)

    def read(self, path: str, within: str | None = None) -> bytes | None:
        try:
            real = Path(path).resolve()
            if within is not None and not real.is_relative_to(Path(within).resolve()):
                return None
            if not real.is_file():
                return None
            return real.read_bytes()
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
