"""(Re)build `OUTPUT_DIR/report.html` and the dataset card `OUTPUT_DIR/README.md` from
`dataset.json`, `stats.json` and the shards.

    python -m pipelines.report OUTPUT_DIR [--max_windows 24] [--max_shards 16] [--max_scan 20000]
                               [--license cc-by-4.0] [--license_name ...] [--license_link ...]

Paths go through Beam's FileSystems, so OUTPUT_DIR may be local, gs:// or s3://. Jobs call
`write_report(output_dir)` after writing `dataset.json`.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from m3w_builder.options import ArgumentParser, add_options
from m3w_builder.output import card, formats, report
from m3w_builder.output.card import CardOptions
from pipelines.checks import UsageError, check_no_glob

MAX_BYTES = 5_000_000  # page budget: images get what the rest of the page leaves


def _read_json(path: str) -> Any:
    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode("utf-8"))


def _open(output_dir: str, name: str):
    return FileSystems.open(FileSystems.join(output_dir, name), compression_type=CompressionTypes.UNCOMPRESSED)


def _names(output_dir: str, folder: str) -> list[str]:
    """File names in a shard folder (`--output_format files`)."""
    pattern = FileSystems.join(output_dir, folder, "*")
    return [FileSystems.split(m.path)[1] for r in FileSystems.match([pattern]) for m in r.metadata_list]


def _spread(items: list[Any], n: int) -> list[Any]:
    """At most `n` items evenly spaced over `items` (first and last included)."""
    if len(items) <= n:
        return items
    if n == 1:
        return items[:1]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def write_card(output_dir: str, dataset: dict, counters: dict[str, int], card_opts: CardOptions | None = None) -> str:
    """Write the dataset card `README.md` next to `dataset.json` (licence fields from `card_opts`,
    else from the job's recorded options); returns its path."""
    text = card.render_card(dataset, counters, card_opts or card.card_options(dataset.get("options", {})))
    path = FileSystems.join(output_dir, "README.md")
    with FileSystems.create(path, mime_type="text/markdown") as handle:
        handle.write(text.encode("utf-8"))
    return path


def read_rejects(output_dir: str, limit: int) -> list[dict]:
    """At most `limit` rows of `rejects/*.parquet`, spread evenly over all of them (stage, reason,
    detail where the job writes it, url, id), sorted by stage then reason."""
    rows: list[dict] = []
    for result in FileSystems.match([FileSystems.join(output_dir, "rejects", "*.parquet")]):
        for meta in sorted(result.metadata_list, key=lambda m: m.path):
            with FileSystems.open(meta.path) as handle:
                rows.extend(pq.read_table(io.BytesIO(handle.read())).to_pylist())
    picked = _spread(rows, limit) if limit else []
    return sorted(({"stage": r.get("stage", ""), "reason": r.get("reason", ""), "detail": r.get("detail"),
                    "url": r.get("url", ""), "id": r.get("id", "")} for r in picked),
                  key=lambda r: (r["stage"], r["reason"], r["url"]))


def write_report(output_dir: str, max_windows: int = 24, max_shards: int = 16, max_scan: int = 20_000,
                 card_opts: CardOptions | None = None, max_rejects: int = 200) -> str:
    """Write `report.html` and the dataset card `README.md` next to `dataset.json`; returns the
    report's path."""
    dataset = _read_json(FileSystems.join(output_dir, "dataset.json"))
    stats_path = FileSystems.join(output_dir, "stats.json")
    stats = _read_json(stats_path) if FileSystems.exists(stats_path) else dataset.get("stats", {})
    wall = stats.get("wall_seconds") if "counters" in stats else None
    stats = stats.get("counters", stats)  # the job writes {"counters": {...}, "wall_seconds": ...}
    stats = {k: v for k, v in stats.items() if isinstance(v, int)}
    write_card(output_dir, dataset, stats, card_opts)
    shards = _spread(dataset.get("shardlist", []), max_shards)
    readers = [lambda url=s["url"]: formats.iter_shard(url, lambda name: _open(output_dir, name),
                                                       lambda folder: _names(output_dir, folder)) for s in shards]
    data = report.collect(dataset, stats, readers, max_windows=max_windows, max_scan=max_scan)
    data.wall_seconds = wall if isinstance(wall, (int, float)) else None
    data.rejects = read_rejects(output_dir, max_rejects)
    page_without_images = report.render(data, image_budget=0)
    budget = max(0, (MAX_BYTES - len(page_without_images.encode())) * 3 // 4)  # base64 grows 4/3
    page = report.render(data, image_budget=budget)
    path = FileSystems.join(output_dir, "report.html")
    with FileSystems.create(path, mime_type="text/html") as handle:
        handle.write(page.encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir")
    parser.add_argument("--max_windows", type=int, default=24, help="windows shown in the sample section")
    parser.add_argument("--max_shards", type=int, default=16, help="shards read (evenly spread)")
    parser.add_argument("--max_scan", type=int, default=20_000, help="samples read for the histograms")
    parser.add_argument("--max_rejects", type=int, default=200, help="rejects rows shown in the rejects browser")
    add_options(parser, CardOptions, {name: None for name in CardOptions.__dataclass_fields__})  # None: not given
    args = parser.parse_args(argv)
    try:  # its rejects are read by name pattern under it
        check_no_glob("output_dir", args.output_dir)
    except UsageError as error:
        parser.error(str(error))
    given = any(getattr(args, k) is not None for k in CardOptions.__dataclass_fields__)
    card_opts = card.card_from_args(args) if given else None  # else: what the job recorded
    print(write_report(args.output_dir, args.max_windows, args.max_shards, args.max_scan, card_opts, args.max_rejects))


if __name__ == "__main__":
    main()
