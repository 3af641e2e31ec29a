"""`make fuzz`: python -m tests.fuzz [--count N] [--seed S] [--targets image,video,...]

Prints one row per target (inputs tried, ok, clean rejections, crashes, hangs, memory hits) and
every bad input; exits 1 when any crash, hang or memory hit was found.
"""

from __future__ import annotations

import argparse
import sys

from tests.fuzz.harness import fuzz
from tests.fuzz.worker import TARGETS


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=1000, help="inputs per target")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: " + ",".join(TARGETS))
    p.add_argument("--memory_mib", type=int, default=3072, help="address-space limit of a worker")
    p.add_argument("--timeout_s", type=float, default=60.0, help="seconds per input")
    args = p.parse_args()
    unknown = set(args.targets.split(",")) - set(TARGETS)
    if unknown:
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    bad = 0
    for target in args.targets.split(","):
        report = fuzz(target, args.count, args.seed, args.memory_mib, args.timeout_s)
        print(report.row(), flush=True)
        for outcome, label, detail in report.failures:
            print(f"  {outcome}: {label}: {detail}", flush=True)
        bad += report.bad
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
