"""The drop convention of every library stage.

A stage that drops a whole item raises `Rejected(reason, detail)`; a stage that keeps the item but
drops parts of it (paragraphs of a page, media nodes, ...) reports them in one `Drops` value. The
Beam wiring counts both as `<stage>/<reason>` and writes a rejects row for a whole-item drop.
"""

from __future__ import annotations

from collections import Counter


class Rejected(Exception):
    """An item dropped for a stated reason; callers count it as `stage/reason`.

    `reason` is a short snake_case code (a metric name: `too_small`, `decode_error`, ...);
    `detail` is free text for the rejects output and manifests.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Drops(Counter):
    """Sub-item drops of one item, by reason: `{"too_few_words": 3, "tracking_pixel": 1}`."""
