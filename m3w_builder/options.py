"""One source of defaults: option dataclass fields carry their default and help text.

Every options dataclass (`ExtractOptions`, `FilterOptions`, ...) declares its fields with `option()`,
so the command-line flags are generated from the fields and a default is written exactly once.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING,
           flag: str | None = None, choices: tuple | None = None) -> Any:
    """A dataclass field with its help text (and optional flag name / choices) in its metadata."""
    metadata = {"help": help, "flag": flag, "choices": choices}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
