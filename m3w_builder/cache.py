"""The user cache folder: what one process leaves for the next on the same machine (the embedded
sample crawls, the decompressed language model). Never part of a job's output; deleting it only
costs the time to rebuild what was in it."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/m3w-builder`, by default `~/.cache/m3w-builder`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m3w-builder"
