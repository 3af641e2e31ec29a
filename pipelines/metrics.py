"""Drop accounting shared by every Beam stage: a counter per `stage/reason` and a rejects output.

Every element a stage drops is counted in the Beam metric namespace `m3w` as `stage/reason`
(merged into `stats.json` at the end of a job) and emitted on the `rejects` tagged output as a row
`{id, url, stage, reason, detail}` that the job can write to a rejects parquet.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines import progress

NAMESPACE = "m3w"
REJECTS = "rejects"


def count(stage: str, name: str, n: int = 1) -> None:
    """Increment the counter `stage/name` (for kept items and volumes, not only drops)."""
    Metrics.counter(NAMESPACE, f"{stage}/{name}").inc(n)
    progress.record(f"{stage}/{name}", n)


def drop(stage: str, reason: str, item_id: str, url: str = "", detail: str = "") -> beam.pvalue.TaggedOutput:
    """Count a dropped item and return the rejects row to `yield` from a DoFn."""
    count(stage, reason)
    row = {"id": item_id, "url": url, "stage": stage, "reason": reason, "detail": detail}
    return beam.pvalue.TaggedOutput(REJECTS, row)
