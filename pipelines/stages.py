"""The one stage pattern: a library function wrapped in a fault-isolating Beam DoFn.

`LibraryStage(name, fn)` calls `fn(item, *side_inputs)` for every element. `fn` returns one output
(or, with `many=True`, yields any number) and reports everything else through the values below;
the stage turns them into counters and rejects rows, so no stage writes that bookkeeping itself:

- a plain value: emitted on the main output, counted `<stage>/kept`;
- `Kept(item, drops, volumes)`: the same, plus sub-item drops (`drops.Drops`, counted
  `<parts>/<reason>`, `parts` defaulting to the stage) and volumes (`<stage>/n_<name>`);
- `Dropped(reason, item_id, url, detail, carry)`: one output dropped (`<stage>/<reason>` and a
  rejects row); `carry`, when given, still travels on (a failed pair goes on to its manifest row);
- `Counts(drops, volumes)`: counters only;
- `Forward(item)`: emitted without being counted (an item an earlier stage already settled);
- `beam.pvalue.TaggedOutput`: passed through (side outputs such as media records).

`fn` raising `Rejected(reason, detail)` drops the input (`<stage>/<reason>` + rejects row); any
other exception becomes `<stage>/error_<ExceptionType>` + a rejects row with the message, never a
failed bundle: one odd page in 10^8 must not stop a job. Outputs yielded before an exception stay
emitted (a WARC read up to a bad record keeps its earlier records). `fn` may have a `setup()`
method, called once per worker (block lists, tokenizers, thread pools).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam

from m3w_builder.drops import Rejected
from pipelines.metrics import REJECTS, count, drop

DETAIL_CHARS = 1000  # rejects rows keep the start of a long message


@dataclass(frozen=True)
class Kept:
    """An output with the sub-item drops and volumes its stage function observed."""

    item: Any
    drops: Mapping[str, int] = field(default_factory=dict)
    volumes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Dropped:
    """One output of a fan-out dropped for `reason`; `carry` is still emitted when not None. With
    `part=True` it is a part of the item (a media node of a document): counted and written under
    the stage's `parts` name, while the item itself goes on."""

    reason: str
    item_id: str
    url: str = ""
    detail: str = ""
    carry: Any = None
    part: bool = False


@dataclass(frozen=True)
class Counts:
    """Counters without an output: sub-item drops (`<parts>/<reason>`) and volumes (`<stage>/n_<name>`)."""

    drops: Mapping[str, int] = field(default_factory=dict)
    volumes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Forward:
    """An output emitted without a `kept` count (settled by an earlier stage)."""

    item: Any


_frozen = False


def freeze_startup_objects() -> None:
    """Move what this process holds now (Beam's modules, the job's, the graph or the DoFns) into
    gc's permanent generation, once per process: those objects live until exit, yet every full
    collection walked them again and so did the interpreter's last one at exit, ~0.3 CPU-s per
    launcher or worker of a 1k-page run. Objects made later are collected as before. The
    launcher calls it before running the graph; a worker, whose process Beam starts, on the
    first `LibraryStage.setup`."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def _thaw_flag() -> None:
    """A forked worker (`warm_workers`) freezes again on its first setup, as a fresh worker does:
    what it unpickles then lives as long."""
    global _frozen
    _frozen = False


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_thaw_flag)


def identify(item: Any) -> tuple[str, str]:
    """(id, url) of an element for its rejects row: documents, records, pair items, keyed tuples."""
    if isinstance(item, tuple) and item:
        head = item[0]
        if isinstance(head, str):
            return head, str(getattr(item[1], "url", "") or "") if len(item) > 1 else ""
        return identify(head)
    if isinstance(item, str):
        return item, item
    for name in ("doc_id", "key", "source"):
        value = getattr(item, name, None)
        if isinstance(value, str) and value:
            return value, str(getattr(item, "url", "") or "")
    return "", str(getattr(item, "url", "") or "")


def error_reason(error: BaseException) -> str:
    """The counter name of an unforeseen exception: `error_<ExceptionType>`."""
    return f"error_{type(error).__name__}"


def error_detail(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:DETAIL_CHARS]


class LibraryStage(beam.DoFn):
    """Run `fn` on every element with the counting and fault isolation of the module docstring."""

    def __init__(self, name: str, fn: Callable[..., Any], *, many: bool = False, parts: str | None = None,
                 ident: Callable[[Any], tuple[str, str]] = identify) -> None:
        self.name = name
        self.fn = fn
        self.many = many
        self.parts = parts or name
        self.ident = ident

    def setup(self) -> None:
        freeze_startup_objects()
        setup = getattr(self.fn, "setup", None)
        if callable(setup):
            setup()

    def _counts(self, drops: Mapping[str, int], volumes: Mapping[str, int]) -> None:
        for reason, n in drops.items():
            if n:
                count(self.parts, reason, n)
        for name, n in volumes.items():
            if n:
                count(self.name, f"n_{name}", n)

    def _emit(self, out: Any) -> Iterable[Any]:
        if isinstance(out, Kept):
            self._counts(out.drops, out.volumes)
            count(self.name, "kept")
            yield out.item
        elif isinstance(out, Dropped):
            yield drop(self.parts if out.part else self.name, out.reason, out.item_id, out.url, out.detail)
            if out.carry is not None:
                yield out.carry
        elif isinstance(out, Counts):
            self._counts(out.drops, out.volumes)
        elif isinstance(out, Forward):
            yield out.item
        elif isinstance(out, beam.pvalue.TaggedOutput):
            yield out
        else:
            count(self.name, "kept")
            yield out

    def _reject(self, item: Any, reason: str, detail: str) -> beam.pvalue.TaggedOutput:
        try:
            item_id, url = self.ident(item)
        except Exception:  # an element too odd to name must still be counted
            item_id, url = "", ""
        return drop(self.name, reason, item_id, url, detail)

    def process(self, item, *side):  # no annotations: Beam would read them as type hints
        try:
            result = self.fn(item, *side)
            outputs = result if self.many else (result,)
            for out in outputs:
                yield from self._emit(out)
        except Rejected as rejected:
            yield self._reject(item, rejected.reason, rejected.detail[:DETAIL_CHARS])
        except Exception as error:  # noqa: BLE001 - the point of the stage: count it, never fail the bundle
            yield self._reject(item, error_reason(error), error_detail(error))


def apply(pcoll: beam.PCollection, label: str, stage: LibraryStage, *side: Any,
          tags: tuple[str, ...] = ()) -> beam.pvalue.DoOutputsTuple:
    """`pcoll | label >> ParDo(stage)` with the rejects output (and any `tags`) split off."""
    return pcoll | label >> beam.ParDo(stage, *side).with_outputs(REJECTS, *tags, main="out")


class Chain:
    """`LibraryStage`s run one after another on each item inside one DoFn call, with no shuffle
    or serialisation between them: what a store pass does to every page of its file. Each stage
    counts and isolates faults exactly as on its own; rejects rows and side outputs come out of
    `run` as tagged outputs, the last stage's outputs as plain values."""

    def __init__(self, stages: Iterable[LibraryStage]) -> None:
        self.stages = list(stages)

    def setup(self) -> None:
        for stage in self.stages:
            stage.setup()

    def run(self, item: Any, sides: Mapping[int, tuple] | None = None, start: int = 0) -> Iterable[Any]:
        """Outputs of `item` through the stages from `start` on (`sides`: side inputs by stage index)."""
        if start == len(self.stages):
            yield item
            return
        for out in self.stages[start].process(item, *(sides or {}).get(start, ())):
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield out
            else:
                yield from self.run(out, sides, start + 1)
