"""After a run, for every job: merge the counters into dataset.json, write stats.json and report.html,
print a summary grouped by stage.

Counter vocabulary (one for every stage): `<stage>/kept` what a stage passed, `<stage>/n_<name>`
a volume, any other `<stage>/<reason>` a drop.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from m3w_builder.output.funnel import stage_rank
from pipelines import fs
from pipelines.metrics import NAMESPACE
from pipelines.progress import is_drop
from pipelines.report import write_report


def collect_stats(result: Any) -> dict[str, int]:
    """All `m3w` counters of a finished run as {stage/reason: value}."""
    stats: Counter = Counter()
    for counter in result.metrics().query()["counters"]:
        if counter.key.metric.namespace == NAMESPACE:
            stats[counter.key.metric.name] += counter.committed or counter.attempted or 0
    return dict(sorted(stats.items()))


def dataset_json(kind: str, shards: list[dict], tokenizer: dict | None, window: dict | None, options: dict,
                 fingerprint: str, stats: dict | None = None, failed_manifests: list[str] = ()) -> bytes:
    """The dataset.json document (wids shard-index layout plus our own fields; `fingerprint`:
    `pipelines.checks.fingerprint` of what built it; `failed_manifests`: manifests of shards whose
    items all failed, which have no tar and so are not in the shardlist)."""
    doc = {
        "format": "m3w-builder", "version": 1, "kind": kind, "wids_version": 1,
        "name": kind, "shardlist": sorted(shards, key=lambda s: s["url"]),
        "tokenizer": tokenizer, "window": window, "options": options, "fingerprint": fingerprint,
        "stats": stats or {}, "failed_manifests": list(failed_manifests),
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")


def finish(output: str, stats: dict[str, int], seconds: float) -> dict:
    """Merge stats into dataset.json, write stats.json, and return the dataset document."""
    dataset = json.loads(fs.read_bytes(fs.join(output, "dataset.json")))
    dataset["stats"] = stats
    fs.write_bytes_atomic(fs.join(output, "dataset.json"), json.dumps(dataset, indent=1, sort_keys=True).encode())
    fs.write_bytes_atomic(fs.join(output, "stats.json"),
                          json.dumps({"counters": stats, "wall_seconds": round(seconds, 2)}, indent=1,
                                     sort_keys=True).encode())
    return dataset


def stage_lines(stats: dict[str, int]) -> list[str]:
    """One line per stage: what it kept, every drop reason, every volume."""
    stages: dict[str, dict[str, int]] = {}
    for name, value in stats.items():
        stage, _, reason = name.partition("/")
        stages.setdefault(stage, {})[reason] = value
    width = max((len(s) for s in stages), default=0)
    lines = []
    for stage in sorted(stages, key=stage_rank):
        counters = stages[stage]
        parts = [f"kept {counters['kept']}"] if "kept" in counters else []
        drops = [f"{k} {v}" for k, v in sorted(counters.items()) if is_drop(f"{stage}/{k}")]
        volumes = [f"{k[2:]} {v}" for k, v in sorted(counters.items()) if k.startswith("n_")]
        if drops:
            parts.append("dropped: " + ", ".join(drops))
        if volumes:
            parts.append("volumes: " + ", ".join(volumes))
        lines.append(f"  {stage:<{width}}  " + " | ".join(parts))
    return lines


def summary(title: str, output: str, dataset: dict) -> str:
    """A short human summary of a finished run, grouped by stage."""
    shards = dataset["shardlist"]
    return "\n".join([
        f"{title} written to {output}",
        f"  shards: {len(shards)}  samples: {sum(s['nsamples'] for s in shards)}  "
        f"bytes: {sum(s['filesize'] for s in shards)}",
        *stage_lines(dataset["stats"]),
    ])


def publish(cfg: Any, result: Any, start: float, title: str) -> dict:
    """After a run: stats into dataset.json and stats.json, report.html (unless `cfg.report` is off),
    the summary printed; returns the dataset.json document. A run that wrote no sample exits
    non-zero unless `cfg.allow_empty`."""
    dataset = finish(cfg.output, collect_stats(result), time.time() - start)
    print(summary(title, cfg.output, dataset))
    if cfg.report:
        print(f"  report: {write_report(cfg.output)}")
    if not cfg.allow_empty and not sum(s["nsamples"] for s in dataset["shardlist"]):
        raise SystemExit(f"error: no sample was written (every item was dropped: see {fs.join(cfg.output, 'stats.json')}"
                         "); pass --allow_empty to accept an empty dataset")
    return dataset
