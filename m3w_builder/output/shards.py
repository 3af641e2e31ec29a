"""Byte-reproducible WebDataset tar shards and their DALI-style `.idx` (DESIGN §4).

Members are plain ustar regular files with fixed mtime/uid/gid/mode and ASCII names under 100
bytes; a sample's members are adjacent. The writer streams into any binary file object (so Beam
FileSystems paths such as gs:// work) and records member offsets for the index as it goes: each
index entry holds the offset of the member's *data* (its header offset + 512), as DALI's `wds2idx`
writes it and DALI's webdataset reader seeks to it.
`tarfile` builds each header; the writer only controls what `TarFile.addfile` would not
(fixed metadata, offsets for the index, no dependence on `tell()`).
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO

MTIME = 946684800  # 2000-01-01T00:00:00Z: fixed so identical input gives identical bytes
BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
_KEY_RE = re.compile(r"[A-Za-z0-9_\-]+")
_SUFFIX_RE = re.compile(r"^[a-z0-9_\-]+(\.[a-z0-9_\-]+)*$")


def shard_name(prefix: str, index: int) -> str:
    """`{prefix}-{index:06d}.tar`."""
    return f"{prefix}-{index:06d}.tar"


def store_shard_name(prefix: str, store: int, index: int) -> str:
    """`{prefix}-{store:06d}-{index:04d}.tar`: shard `index` of the samples of input store `store`."""
    return f"{prefix}-{store:06d}-{index:04d}.tar"


def is_sample_key(key: object) -> bool:
    """Whether `key` is a sample key as every shard is written with: letters, digits, `_`, `-`
    (so a member name is never a path: a reader writing `{key}.jpg` stays in its folder)."""
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


@dataclass
class _SampleIndex:
    key: str
    members: list[tuple[str, int, int, str]] = field(default_factory=list)  # (suffix, data offset, size, name)


class ShardWriter:
    """Write samples `{key}.{suffix}` into a tar stream with deterministic headers."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self.fileobj = fileobj
        self.offset = 0
        self.samples: list[_SampleIndex] = []
        self.md5 = hashlib.md5()
        self.closed = False

    def _write(self, data: bytes) -> None:
        self.fileobj.write(data)
        self.md5.update(data)
        self.offset += len(data)

    def add_sample(self, key: str, members: list[tuple[str, bytes]]) -> None:
        """Add one sample; `members` are `(suffix, payload)` in the order they are written."""
        if not is_sample_key(key):
            raise ValueError(f"invalid sample key {key!r} (letters, digits, '_' and '-' only)")
        index = _SampleIndex(key)
        for suffix, payload in members:
            if not _SUFFIX_RE.match(suffix):
                raise ValueError(f"invalid member suffix {suffix!r}")
            name = f"{key}.{suffix}"
            if len(name.encode("ascii")) >= 100:
                raise ValueError(f"member name too long for ustar: {name!r}")
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            self._write(info.tobuf(format=tarfile.USTAR_FORMAT, encoding="ascii", errors="strict"))
            index.members.append((suffix, self.offset, len(payload), name))
            self._write(payload)
            padding = (-len(payload)) % BLOCK
            if padding:
                self._write(b"\0" * padding)
        self.samples.append(index)

    def close(self) -> None:
        """Write the end-of-archive blocks, padded to a full tar record, as `tarfile` does."""
        if self.closed:
            return
        end = self.offset + 2 * BLOCK
        self._write(b"\0" * (2 * BLOCK + (-end) % RECORD))
        self.closed = True

    @property
    def md5sum(self) -> str:
        return self.md5.hexdigest()

    def index_text(self) -> str:
        """DALI webdataset index (v1.2): a header line, then per sample `ext data_offset size name` groups."""
        lines = [f"v1.2 {len(self.samples)}"]
        for sample in self.samples:
            lines.append(" ".join(f"{suffix} {offset} {size} {name}" for suffix, offset, size, name in sample.members))
        return "\n".join(lines) + "\n"
