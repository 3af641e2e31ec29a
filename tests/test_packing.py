"""Packed groupings (`pipelines.packing`) give what Beam's own groupings give, on a real
FnApiRunner pipeline with several bundles and several packs per bucket."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipelines.packing import (
    PACK_ITEMS,
    PackedCoGroupByKey,
    PackedGroupByKey,
    key_bucket,
)


def _normal(element) -> str:
    key, groups = element
    if isinstance(groups, dict):
        groups = {tag: sorted(map(repr, values)) for tag, values in sorted(groups.items())}
    else:
        groups = sorted(map(repr, groups))
    return json.dumps([repr(key), groups])


def _written(tmp_path: Path, prefix: str) -> list[str]:
    return sorted(line for path in tmp_path.glob(f"{prefix}-*") for line in path.read_text().splitlines())


def test_packed_groupings_equal_beams_groupings(tmp_path: Path) -> None:
    n = 3 * PACK_ITEMS  # a bucket gets more than one pack
    keys = [f"doc-{i % 700}" for i in range(n)] + [bytes([i % 5]) * 16 for i in range(50)] + list(range(-20, 20))
    left = [(k, i) for i, k in enumerate(keys)]
    right = [(k, ("gone", i)) for i, k in enumerate(keys[::7])] + [("only-right", b"x")]
    pipeline = beam.Pipeline(runner=FnApiRunner())
    a = pipeline | "A" >> beam.Create(left) | "SpreadA" >> beam.Reshuffle()
    b = pipeline | "B" >> beam.Create(right) | "SpreadB" >> beam.Reshuffle()
    outputs = {
        "beam_cogroup": {"value": a, "gone": b} | "Cogroup" >> beam.CoGroupByKey(),
        "packed_cogroup": {"value": a, "gone": b} | "Packed" >> PackedCoGroupByKey(buckets=4),
        "beam_group": a | "Group" >> beam.GroupByKey(),
        "packed_group": a | "PackedGroup" >> PackedGroupByKey(buckets=4),
    }
    for name, pcoll in outputs.items():
        _ = pcoll | f"Normal{name}" >> beam.Map(_normal) | f"Write{name}" >> beam.io.WriteToText(str(tmp_path / name))
    pipeline.run().wait_until_finish()

    assert _written(tmp_path, "packed_cogroup") == _written(tmp_path, "beam_cogroup")
    assert _written(tmp_path, "packed_group") == _written(tmp_path, "beam_group")
    assert len(_written(tmp_path, "beam_cogroup")) == 700 + 5 + 40 + 1


def test_key_buckets_are_stable_and_spread() -> None:
    assert key_bucket("a" * 32) == key_bucket("a" * 32)
    buckets = [key_bucket(f"{i:032x}") for i in range(10_000)]
    assert min(buckets) == 0 and max(buckets) == 255
    assert max(buckets.count(b) for b in set(buckets)) < 2 * 10_000 / 256
