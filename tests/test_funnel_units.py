"""Every stage name the jobs count has a unit in the funnel (pages, paragraphs, media, samples), so
no stage of a real run lands in a mixed "other" chart."""

from __future__ import annotations

import json

import pytest

from m3w_builder.output.funnel import UNITS, stages, unit_of


@pytest.mark.parametrize("kind", ["m3w", "align", "ltip", "vtp"])
def test_every_counted_stage_of_a_real_run_has_a_unit(sample_output, kind):
    counters = json.loads((sample_output(kind) / "dataset.json").read_text())["stats"]
    names = {s.name for s in stages(counters)}
    assert names >= {"read" if kind in ("m3w", "align") else "list", "shard"}
    assert {name: unit_of(name) for name in names if unit_of(name) == "other"} == {}


def test_a_stage_has_one_unit():
    listed = [name for names in UNITS.values() for name in names]
    assert len(listed) == len(set(listed))


def test_key_steps_count_in_their_rules_unit():
    assert unit_of("url_dedup_keys") == unit_of("url_dedup") == "pages" and unit_of("no_such_stage") == "other"
