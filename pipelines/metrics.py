"""Drop accounting shared by every Beam stage: a counter per `stage/reason` and a rejects output.

Every element a stage drops is counted in the Beam metric namespace `m3w` as `stage/reason`
(merged into `stats.json` at the end of a job) and emitted on the `rejects` tagged output as a row
`{id, url, stage, reason, detail}` that the job can write to a rejects parquet.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines import progress

NAMESPACE = "m3w"
REJECTS = "rejects"
_recorders = threading.local()


def count(stage: str, name: str, n: int = 1) -> None:
    """Increment the counter `stage/name` (for kept items and volumes, not only drops); inside
    `recording()` the count is collected for the caller to `replay` instead."""
    progress.record(f"{stage}/{name}", n)
    recorder = getattr(_recorders, "current", None)
    if recorder is not None:
        recorder[f"{stage}/{name}"] += n
        return
    Metrics.counter(NAMESPACE, f"{stage}/{name}").inc(n)


@contextmanager
def recording() -> Iterator[Counter]:
    """Collect, instead of counting, what this thread counts: a finished piece of work stores its
    counters, and both the run and a resumed run then count them once with `replay`."""
    previous = getattr(_recorders, "current", None)
    _recorders.current = recorded = Counter()
    try:
        yield recorded
    finally:
        _recorders.current = previous
        if previous is not None:
            previous.update(recorded)


def replay(counters: dict[str, int], live: bool = False) -> None:
    """Count what a piece of work collected (`live`: also in the progress display, for work a
    resumed run skipped; work that just ran showed its counts as it went)."""
    for name, n in counters.items():
        Metrics.counter(NAMESPACE, name).inc(n)
        if live:
            progress.record(name, n)


def drop(stage: str, reason: str, item_id: str, url: str = "", detail: str = "") -> beam.pvalue.TaggedOutput:
    """Count a dropped item and return the rejects row to `yield` from a DoFn."""
    count(stage, reason)
    row = {"id": item_id, "url": url, "stage": stage, "reason": reason, "detail": detail}
    return beam.pvalue.TaggedOutput(REJECTS, row)
