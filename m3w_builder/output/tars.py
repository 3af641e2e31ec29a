"""The one reader of our WebDataset tars: samples as (key, members in tar order), streamed.

Members of a sample are adjacent (DESIGN §4), so a sample is complete when the key changes; the
key is a member's base name up to its first dot, the suffix the rest (`json`, `0.jpg`, `1.003.jpg`).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import IO

Members = list[tuple[str, bytes]]


def iter_samples(fileobj: IO[bytes]) -> Iterator[tuple[str, Members]]:
    """(key, [(suffix, bytes), ...]) for every sample of a tar read as a stream."""
    key: str | None = None
    members: Members = []
    with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name_key, _, suffix = member.name.rsplit("/", 1)[-1].partition(".")
            data = tar.extractfile(member).read()
            if name_key != key:
                if key is not None:
                    yield key, members
                key, members = name_key, []
            members.append((suffix, data))
    if key is not None:
        yield key, members
