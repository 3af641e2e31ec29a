"""A real Beam FileSystem for the scheme `memtest://`, backed by a dict in this process.

Importing this module registers it in Beam's own registry (Beam finds FileSystem subclasses), so
code that goes through `FileSystems` reaches it exactly as it would reach gs:// on Dataflow: an
object store with no folders and no links. Only in-process runners see the same dict
(`--direct_num_workers=1`).
"""

from __future__ import annotations

import io
import threading

from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem

SCHEME = "memtest"
OBJECTS: dict[str, bytes] = {}
_LOCK = threading.Lock()


class _Writer(io.BytesIO):
    """Stores its bytes under `path` when closed (an object appears whole or not at all)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def close(self) -> None:
        if not self.closed:
            with _LOCK:
                OBJECTS[self.path] = self.getvalue()
        super().close()


class MemTestFileSystem(FileSystem):
    """`memtest://bucket/key` objects in `OBJECTS`."""

    @classmethod
    def scheme(cls) -> str:
        return SCHEME

    def join(self, basepath: str, *paths: str) -> str:
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path: str) -> tuple[str, str]:
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path: str) -> None:
        pass  # no folders in an object store

    def has_dirs(self) -> bool:
        return False

    def _list(self, dir_or_prefix: str):
        with _LOCK:
            items = [(k, len(v)) for k, v in OBJECTS.items() if k.startswith(dir_or_prefix)]
        for key, size in items:
            yield FileMetadata(key, size)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        with _LOCK:
            if path not in OBJECTS:
                raise BeamIOError("open failed", {path: FileNotFoundError(path)})
            return io.BytesIO(OBJECTS[path])

    def copy(self, source_file_names, destination_file_names) -> None:
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names):
                OBJECTS[dst] = OBJECTS[src]

    def rename(self, source_file_names, destination_file_names) -> None:
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names):
                OBJECTS[dst] = OBJECTS.pop(src)

    def exists(self, path: str) -> bool:
        return path in OBJECTS

    def size(self, path: str) -> int:
        return len(OBJECTS[path])

    def last_updated(self, path: str) -> float:
        return 0.0

    def checksum(self, path: str) -> str:
        return str(hash(OBJECTS[path]))

    def metadata(self, path: str) -> FileMetadata:
        return FileMetadata(path, len(OBJECTS[path]))

    def delete(self, paths) -> None:
        with _LOCK:
            missing = {p: FileNotFoundError(p) for p in paths if p not in OBJECTS}
            for p in paths:
                OBJECTS.pop(p, None)
        if missing:
            raise BeamIOError("delete failed", missing)
