"""The one exception every library stage raises for an input it drops on purpose."""

from __future__ import annotations


class Rejected(Exception):
    """An item dropped for a stated reason; callers count it as `stage/reason`.

    `reason` is a short snake_case code (a metric name: `too_small`, `decode_error`, ...);
    `detail` is free text for the rejects output and manifests.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
