"""Versioned JSON Schemas of every record and shard member the jobs write (docs/CONTRACTS.md).

`load("m3w_sample")` returns the newest version's schema as a dict; files are `NAME.vN.json`.
Validation needs `jsonschema` (a test dependency): the jobs themselves never validate at run time.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent


@cache
def load(name: str, version: int | None = None) -> dict:
    """The schema `NAME.vVERSION.json` (default: the highest version present)."""
    if version is None:
        found = sorted(int(p.name.split(".v")[-1][:-5]) for p in _HERE.glob(f"{name}.v*.json"))
        if not found:
            raise FileNotFoundError(f"no schema named {name!r} in {_HERE}")
        version = found[-1]
    return json.loads((_HERE / f"{name}.v{version}.json").read_text())
