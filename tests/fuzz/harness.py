"""Run fuzz targets in limited subprocesses and tally what happened.

Each target runs in a worker process (`worker.py`) under an address-space limit; every input
gets `timeout_s` seconds. A worker that overruns is killed and the input counted as a hang; one
that dies is counted as a memory hit (its stderr names an allocation failure) or a crash, and a
fresh worker takes the remaining inputs.
"""

from __future__ import annotations

import json
import os
import selectors
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.corpus import inputs

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = ("ok", "rejected", "crash", "hang", "memory")
_MEMORY_WORDS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")


@dataclass
class Report:
    """Per target: how many inputs had each outcome, and the labels of the bad ones."""

    target: str
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (outcome, label, detail)

    @property
    def tried(self) -> int:
        return sum(self.counts.values())

    @property
    def bad(self) -> int:
        return sum(self.counts[o] for o in ("crash", "hang", "memory"))

    def row(self) -> str:
        return f"{self.target:6} tried={self.tried:5} " + " ".join(f"{o}={self.counts[o]}" for o in OUTCOMES[:-2]) + \
            f" hang={self.counts['hang']} memory={self.counts['memory']}"


class _Worker:
    def __init__(self, target: str, memory_mib: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        # stderr to a file, not a pipe: libraries' warnings would fill a pipe nobody reads and
        # block the worker (a false hang)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker", target, str(memory_mib)],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def ask(self, data: bytes, timeout_s: float) -> dict:
        try:
            self.proc.stdin.write(struct.pack(">Q", len(data)) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._died()
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                self.close()
                return {"outcome": "hang", "detail": f"no verdict within {timeout_s}s"}
            line = self.proc.stdout.readline()
            return json.loads(line) if line else self._died()

    def _died(self) -> dict:
        self.proc.wait()
        self.stderr.seek(0)
        err = self.stderr.read().decode("utf-8", "replace")
        outcome = "memory" if any(w in err for w in _MEMORY_WORDS) else "crash"
        return {"outcome": outcome, "detail": f"worker exited {self.proc.returncode}: {err.strip()[-300:]}"}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            stream.close()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def fuzz(target: str, count: int, seed: int = 0, memory_mib: int = 3072, timeout_s: float = 60.0) -> Report:
    """Run `count` seeded inputs of `target`; see the module docstring."""
    report = Report(target)
    worker = _Worker(target, memory_mib)
    try:
        for label, data in inputs(target, count, seed):
            if not worker.alive:
                worker.close()
                worker = _Worker(target, memory_mib)
            verdict = worker.ask(data, timeout_s)
            outcome = verdict["outcome"]
            report.counts[outcome] += 1
            if outcome in ("crash", "hang", "memory"):
                report.failures.append((outcome, label, verdict.get("detail", "")))
    finally:
        worker.close()
    return report
