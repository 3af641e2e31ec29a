"""One source of defaults: option dataclass fields carry their default and help text.

Every options dataclass (`ExtractOptions`, `FilterOptions`, ...) declares its command-line fields
with `option()`, so the flags are generated from the fields (`add_options`) and read back
(`options_from_args`) and a default is written exactly once. The flag is the field name unless
`flag=` says otherwise; a boolean whose default is True gets a switch-off flag (`--no_<name>`
unless named). Fields declared without `option()` are internal knobs, not flags.

`ArgumentParser` is the parser of every command line of the project: the jobs spell flags with
underscores (Beam's style), the model CLIs with dashes, and each accepts both spellings.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import types
import typing
from typing import Any, NoReturn

SPELLING_NOTE = "Long flags accept '_' or '-' between words: --max_tokens and --max-tokens are the same flag.\n"


def module_prog() -> str | None:
    """`python -m PACKAGE.MODULE` when the program was started that way (argparse would name the
    file: `__main__.py`, `show.py`), else None (argparse's default)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or not spec.name:
        return None
    return f"python -m {spec.name.removesuffix('.__main__')}"


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose long flags take either spelling (`--a_b` or `--a-b`), so a
    user need not remember which CLI uses which; flags it does not know are left as they are (for
    Beam, which gets them through `parse_known_args`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "prog" not in kwargs and not args:
            kwargs["prog"] = module_prog()
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """One line on stderr and exit 2: argparse's default prints the whole usage first (dozens of
        lines for the jobs), burying the one that says what is wrong."""
        self.exit(2, f"{self.prog}: error: {message} (--help lists the flags)\n")

    def parse_known_args(self, args: list[str] | None = None, namespace: argparse.Namespace | None = None):
        return super().parse_known_args(self.respelled(sys.argv[1:] if args is None else list(args)), namespace)

    def _knows(self, flag: str) -> bool:
        known = self._option_string_actions
        return flag in known or (self.allow_abbrev and any(k.startswith(flag) for k in known if k.startswith("--")))

    def respelled(self, args: list[str]) -> list[str]:
        """`args` with each long flag this parser knows only in the other spelling respelled (up to `--`)."""
        out = []
        for position, arg in enumerate(args):
            if arg == "--":
                return out + args[position:]
            flag, eq, value = arg.partition("=")
            if flag.startswith("--") and len(flag) > 2 and not self._knows(flag):
                for other in ("--" + flag[2:].replace("-", "_"), "--" + flag[2:].replace("_", "-")):
                    if other != flag and self._knows(other):
                        arg = other + eq + value
                        break
            out.append(arg)
        return out

    def format_help(self) -> str:
        return super().format_help() + "\n" + SPELLING_NOTE


def option(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING,
           flag: str | None = None, choices: tuple | None = None, low: float | None = 0,
           high: float | None = None) -> Any:
    """A dataclass field with its help text (and optional flag name / choices) in its metadata; a
    number also declares the range a run can honour (`low`, `high`; counts, sizes and times are
    not negative unless `low=None`), checked by `out_of_bounds` before a job starts."""
    metadata = {"help": help, "flag": flag, "choices": choices, "low": low, "high": high}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _is_option(f: dataclasses.Field) -> bool:
    return "help" in f.metadata


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def flag_name(f: dataclasses.Field) -> str:
    """The flag (without dashes) of an option field."""
    if f.metadata.get("flag"):
        return f.metadata["flag"]
    return f"no_{f.name}" if _default(f) is True else f.name


def _scalar(hint: Any) -> tuple[Any, bool]:
    """(element type, repeatable) of a field type: `int | None` → int; `tuple[str, ...]` → (str, True)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _scalar(args[0])
    if origin in (tuple, list):
        return typing.get_args(hint)[0], True
    return hint, False


def option_fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """The `option()` fields of a dataclass with their resolved types."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if _is_option(f)]


def add_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                defaults: dict[str, Any] | None = None, skip: tuple[str, ...] = ()) -> None:
    """Add a flag for every `option()` field of `cls` (`defaults` overrides shown defaults by field name)."""
    defaults = defaults or {}
    for f, hint in option_fields(cls):
        if f.name in skip:
            continue
        default = defaults.get(f.name, _default(f))
        flag = flag_name(f)
        help_text = f.metadata["help"] or " "
        kind, repeatable = _scalar(hint)
        if kind is bool:
            action = "store_false" if default is True else "store_true"
            parser.add_argument("--" + flag, dest=f.name, action=action, default=default, help=help_text)
        elif repeatable:
            parser.add_argument("--" + flag, dest=f.name, type=kind, action="append", default=None,
                                metavar=flag.upper(), help=f"{help_text}; repeatable" + (
                                    f"; default {list(default)}" if default else ""))
        else:
            required = default is dataclasses.MISSING
            choices = f.metadata.get("choices")
            parser.add_argument("--" + flag, dest=f.name, type=kind, metavar=None if choices else flag.upper(),
                                required=required, default=argparse.SUPPRESS if required else default,
                                choices=choices, help=help_text)


_MAX_INT = 2**63 - 1


def out_of_bounds(options: Any) -> str | None:
    """The first number of `options` (or of the option dataclasses it holds) outside the range its
    field declares, as a one-line usage message naming the flag; None when all are in range."""
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value):
            problem = out_of_bounds(value)
            if problem:
                return problem
        elif _is_option(f) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # NaN passes every comparison; inf never ends a wait
                return f"--{flag_name(f)} {value}: must be a finite number"
            if abs(value) > _MAX_INT:  # past 64 bits: OverflowError in sockets, arrays and PIL mid-job
                return f"--{flag_name(f)} {value}: must be at most {_MAX_INT}"
            low, high = f.metadata.get("low"), f.metadata.get("high")
            if low is not None and value < low:
                return f"--{flag_name(f)} {value}: must be at least {low}"
            if high is not None and value > high:
                return f"--{flag_name(f)} {value}: must be at most {high}"
    return None


def options_from_args(cls: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """An instance of `cls` from the flags `add_options` added (repeatable flags → tuple/list)."""
    values: dict[str, Any] = {}
    for f, hint in option_fields(cls):
        if f.name in overrides or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        kind, repeatable = _scalar(hint)
        if repeatable:
            container = list if typing.get_origin(_strip_none(hint)) is list else tuple
            value = container(value) if value is not None else _default(f)
        values[f.name] = value
    return cls(**values, **overrides)


def _strip_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def to_dict(options: Any) -> dict[str, Any]:
    """Options as recorded in dataset.json (nested dataclasses as dicts)."""
    return dataclasses.asdict(options)
