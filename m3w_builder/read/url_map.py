"""The `--url_map` side file: JSON lines mapping an HTML file (by name or path) to its URL and capture
metadata, checked whole in the launcher so a bad line stops the job before it starts, not a worker."""

from __future__ import annotations

import json

from m3w_builder.extract.urls import URI_BREAKS, resolve

_TEXT_FIELDS = ("url", "http_content_type", "warc_date")  # optional; each a string where given


def parse_url_map(data: bytes) -> dict[str, dict]:
    """Entries by their `file`; a `ValueError` naming the first line that is not a JSON object with a
    string `file` (and string `url`, `http_content_type`, `warc_date` where present), whose `url` is
    no absolute http(s) URL (`example.com/a`, ` http://a.test/ `: the page kept that URL and lost
    every relative image as `image_no_src`), or that names a file named before with other values
    (one of the two was used, unsaid)."""
    entries: dict[str, dict] = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ValueError(f"line {number}: not a JSON object with a string \"file\"")
        wrong = [name for name in _TEXT_FIELDS if name in entry and not isinstance(entry[name], str)]
        if wrong:
            raise ValueError(f"line {number}: \"{wrong[0]}\" is not a string")
        url = entry.get("url")
        if url is not None and (url != url.strip() or URI_BREAKS.search(url) or resolve(url, url) is None):
            raise ValueError(f"line {number}: \"url\" {url[:200]!r} is no absolute http(s) URL with a host")
        earlier = entries.get(entry["file"])
        if earlier is not None and earlier != entry:
            raise ValueError(f"line {number}: names {entry['file'][:200]!r} again, with other values")
        entries[entry["file"]] = entry
    return entries
