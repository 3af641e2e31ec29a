"""A few seeded fuzz inputs per target on every `make test` (`make fuzz` runs thousands)."""

from __future__ import annotations

import pytest

from tests.fuzz.corpus import seed_files
from tests.fuzz.harness import fuzz

# (target, inputs): a few seconds in all
SMALL = [("image", 20), ("video", 6), ("warc", 30), ("text", 50)]


def _check(target: str, count: int) -> None:
    if target != "text" and not seed_files(target):
        pytest.skip("../shared/data is absent")
    report = fuzz(target, count, seed=0, timeout_s=60.0)
    assert report.tried == count
    assert report.bad == 0, report.row() + "".join(f"\n  {o}: {label}: {d}" for o, label, d in report.failures)


@pytest.mark.parametrize("target, count", SMALL)
def test_mutated_real_files_never_crash_hang_or_exhaust_memory(target, count):
    _check(target, count)


def test_hostile_and_mutated_pages_never_crash_hang_or_exhaust_memory():
    _check("html", 10)
