"""Live progress of local runs: pages read, documents kept, drops, shards written, while the job runs.

Beam only reports counters at the end of a run, so every `metrics.count` is mirrored into a
process-local tally that each worker process writes (at most every second) to
`$M3W_PROGRESS_DIR/<pid>.json`; the launcher sums those files and prints a line every few
seconds. Worker processes of the FnApiRunner inherit the variable; on remote runners it is unset
and nothing is written (Dataflow's own UI shows progress there).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

ENV = "M3W_PROGRESS_DIR"
_FLUSH_EVERY_S = 1.0
_tally: Counter = Counter()
_lock = threading.Lock()
_last_flush = 0.0


def record(name: str, n: int) -> None:
    """Add to the local tally and flush it when due (no-op unless the launcher asked for progress)."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    global _last_flush
    with _lock:
        _tally[name] += n
        now = time.monotonic()
        if now - _last_flush < _FLUSH_EVERY_S:
            return
        _last_flush = now
        data = json.dumps(_tally)
    path = Path(folder) / f"{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(data)
    tmp.replace(path)


def read_totals(folder: Path) -> Counter:
    """Sum of the tallies every process has written so far."""
    totals: Counter = Counter()
    for path in folder.glob("*.json"):
        try:
            totals.update(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now
    return totals


# (label, counter) of the progress line; a field shows once it is non-zero, so M3W and pairs
# jobs share the line
FIELDS = (
    ("pages", "read/kept"),
    ("list rows", "list/n_rows"),
    ("documents", "extract/kept"),
    ("media", "media/kept"),
    ("windows", "window/kept"),
    ("pairs", "pairs/kept"),
    ("shards", "shard/n_written"),
)


def is_drop(name: str) -> bool:
    """Whether a counter names a drop reason (not `kept`, not a volume `n_*`)."""
    _stage, _, reason = name.partition("/")
    return bool(reason) and reason != "kept" and not reason.startswith("n_")


def progress_line(totals: Counter, elapsed: float) -> str:
    """One human line: volumes at each stage reached so far and the number of drops."""
    drops = sum(v for k, v in totals.items() if is_drop(k))
    fields = ((label, totals[name]) for label, name in FIELDS)
    return f"[{elapsed:6.1f}s] " + "  ".join([*(f"{label} {n}" for label, n in fields if n), f"drops {drops}"])


class Reporter:
    """Prints a progress line every `every_s` seconds from a daemon thread while a local job runs."""

    def __init__(self, folder: Path, every_s: float = 5.0) -> None:
        self.folder = folder
        self.every_s = every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.start = time.monotonic()

    def __enter__(self) -> "Reporter":
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.glob("*"):  # a killed earlier run's tallies must not add to this one
            path.unlink(missing_ok=True)
        with _lock:  # nor an earlier run of this process (in-memory runners count here too)
            _tally.clear()
        os.environ[ENV] = str(self.folder)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        os.environ.pop(ENV, None)
        for path in self.folder.glob("*"):
            path.unlink(missing_ok=True)
        self.folder.rmdir()

    def _loop(self) -> None:
        while not self.stop.wait(self.every_s):
            print(progress_line(read_totals(self.folder), time.monotonic() - self.start), flush=True)


def live(output: str, enabled: bool = True) -> AbstractContextManager:
    """A `Reporter` over `OUTPUT/.progress` for a local output (remote runners show their own)."""
    if enabled and "://" not in output:
        return Reporter(Path(output) / ".progress")
    return nullcontext()
