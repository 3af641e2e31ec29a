"""File groupings (`pipelines.exchange`) give what Beam's `CoGroupByKey` and `CombinePerKey`
give, on a real FnApiRunner, and hold a bounded amount: a writer its flush buffer whatever the
bundle, a reader its partition (1/P of the grouping; 8x the corpus at 8x the partitions costs it
the same) or its run of merged small partitions (at most `READ_BYTES`), a combining reader one
value per key however hot the key."""

from __future__ import annotations

import operator
import tracemalloc
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipelines import exchange
from pipelines.exchange import (
    Exchange,
    ReadCombined,
    ReadGroups,
    WriteRows,
    read_partitions,
    read_plan,
)


def _normal(kv):
    key, groups = kv
    return key, {tag: sorted(values) for tag, values in sorted(groups.items())}


@pytest.mark.parametrize("read_bytes", [0, exchange.READ_BYTES])  # a reader per partition; one for all
def test_file_cogroup_equals_cogroupbykey(tmp_path: Path, monkeypatch, read_bytes: int) -> None:
    """Same keys, same values per tag (a key of one tag only included), over several partitions
    and bundles, whether each partition has its reader or small ones are merged; only the file
    names and sizes cross Beam."""
    monkeypatch.setattr(exchange, "READ_BYTES", read_bytes)
    a = [(f"k{i % 37}", i) for i in range(2000)]
    b = [(f"k{i % 41}", -i) for i in range(300)]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        pa, pb = p | "A" >> beam.Create(a), p | "B" >> beam.Create(b)
        expected = {"a": pa, "b": pb} | beam.CoGroupByKey() | "NormalBeam" >> beam.Map(_normal)
        got = ({"a": pa, "b": pb} | Exchange(str(tmp_path / "ex"), 8).cogroup()
               | "NormalFiles" >> beam.Map(_normal))
        grouped = pa | Exchange(str(tmp_path / "ex1"), 3).group() | beam.Map(lambda kv: (kv[0], sorted(kv[1])))
        both = ((expected | "KeyE" >> beam.Map(lambda kv: (kv[0], ("e", kv[1])))),
                (got | "KeyG" >> beam.Map(lambda kv: (kv[0], ("g", kv[1])))))
        same = (both | beam.Flatten() | "Pair" >> beam.GroupByKey()
                | beam.Map(lambda kv: len(kv[1]) == 2 and kv[1][0][1] == kv[1][1][1]))
        assert_that(same, equal_to([True] * 41), label="SameGroups")
        assert_that(grouped, equal_to([(f"k{k}", sorted(i for i in range(2000) if i % 37 == k)) for k in range(37)]),
                    label="Grouped")


def _write(run, folder: Path, n_items: int, partitions: int) -> tuple[list, int]:
    """Write `n_items` ("value", key, ~100-byte value) items as one bundle; (written files, traced peak bytes
    while the items come; closing the file then writes its footer, ~300 bytes per row group). `run`:
    the `fresh_interpreter` fixture (tracemalloc is unsafe in a process that ran a pipeline)."""
    return run(_traced_write, folder, n_items, partitions, exchange.FLUSH_BYTES)


def _traced_write(folder: Path, n_items: int, partitions: int, flush_bytes: int) -> tuple[list, int]:
    exchange.FLUSH_BYTES = flush_bytes
    writer = WriteRows(Exchange(str(folder), partitions), lambda i: [(i, ("value", i, b"x" * 100))])
    tracemalloc.start()
    try:
        writer.start_bundle()
        for i in range(n_items):
            writer.process(i)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return [value.value for value in writer.finish_bundle()], peak


def _read_peak(run, files: list, partition: int, partitions: int) -> tuple[int, int]:
    """(items of one reader's groups, traced peak bytes while it groups them)."""
    return run(_traced_read, files, partition, partitions, exchange.READ_BYTES)


def _traced_read(files: list, partition: int, partitions: int, read_bytes: int) -> tuple[int, int]:
    exchange.READ_BYTES = read_bytes
    tracemalloc.start()
    try:
        groups = list(ReadGroups(["value"], partitions).outputs(partition, files))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return sum(len(g["value"]) for _, g in groups), peak


def test_a_writer_holds_its_flush_buffer_whatever_the_bundle(tmp_path: Path, monkeypatch, fresh_interpreter) -> None:
    monkeypatch.setattr(exchange, "FLUSH_BYTES", 64 << 10)
    _, small = _write(fresh_interpreter, tmp_path / "small", 4_000, 4)
    _, large = _write(fresh_interpreter, tmp_path / "large", 32_000, 32)
    # holding the large bundle's items would take > 4 MB: a writer holds its 64 KB flush buffer
    assert large < 1.5 * small, (small, large)


def test_a_reader_holds_its_partition_share(tmp_path: Path, monkeypatch, fresh_interpreter) -> None:
    """8x the items in 8x the partitions: a reader holds the same (its partition's groups, and
    each file's footer: ~300 bytes per row group, a row group per partition and flush)."""
    monkeypatch.setattr(exchange, "READ_BYTES", 0)  # no merging: each partition is a reader's
    small, large, partitions = 4_000, 32_000, 4
    files_small, _ = _write(fresh_interpreter, tmp_path / "small", small, partitions)
    files_large, _ = _write(fresh_interpreter, tmp_path / "large", large, 8 * partitions)
    n_small, read_small = _read_peak(fresh_interpreter, files_small, 0, partitions)
    n_large, read_large = _read_peak(fresh_interpreter, files_large, 0, 8 * partitions)
    assert 0.7 < n_large / n_small < 1.3, (n_small, n_large)  # the same share: P grew with the corpus
    assert read_large < 1.5 * read_small, (read_small, read_large)
    every = [item for p in range(8 * partitions) for item in read_partitions(files_large, p, p + 1)]
    assert sorted(key for _, key, _ in every) == list(range(large))  # each item once, in one partition


def test_small_partitions_are_read_once_and_a_merged_run_holds_its_budget(tmp_path: Path, monkeypatch,
                                                                        fresh_interpreter) -> None:
    """The read plan merges contiguous partitions up to a budget: a grouping within it has one
    reader (the others read nothing); a larger one has runs of at most the budget (or of one
    partition), so a reader holds about the budget, 4x the grouping or not; each item is read once."""
    files, _ = _write(fresh_interpreter, tmp_path / "one", 4_000, 64)
    assert read_plan(files, 64, 4 << 20) == {0: 64}
    assert _read_peak(fresh_interpreter, files, 0, 64)[0] == 4_000
    assert all(not list(ReadGroups(["value"], 64).outputs(p, files)) for p in range(1, 64))
    budget = 256 << 10
    monkeypatch.setattr(exchange, "READ_BYTES", budget)
    peaks = []
    for n_items in (8_000, 32_000):  # ~16 and ~64 KB per partition: runs of ~16 and ~4 partitions
        more, _ = _write(fresh_interpreter, tmp_path / f"x{n_items}", n_items, 64)
        totals = [sum(size for _, sizes in more for q, size in sizes if q == p) for p in range(64)]
        plan = read_plan(more, 64, budget)
        assert 1 < len(plan) < 64 and all(sum(totals[s:e]) <= budget for s, e in plan.items())
        every = [item for p in range(64) for _, group in ReadGroups(["value"], 64).outputs(p, more)
                 for item in group["value"]]
        assert len(every) == n_items
        peaks.append(max(_read_peak(fresh_interpreter, more, start, 64)[1] for start in plan))
    assert peaks[1] < 1.5 * peaks[0], peaks


def test_file_combine_equals_combine_per_key(tmp_path: Path) -> None:
    with beam.Pipeline(runner=FnApiRunner()) as p:
        items = p | beam.Create([(f"k{i % 13}", i) for i in range(3000)])
        expected = items | beam.CombinePerKey(sum)
        got = items | Exchange(str(tmp_path / "ex"), 4).combine(operator.add)
        assert_that(got, equal_to([(f"k{k}", sum(i for i in range(3000) if i % 13 == k)) for k in range(13)]),
                    label="Combined")
        assert_that(expected, equal_to([(f"k{k}", sum(i for i in range(3000) if i % 13 == k)) for k in range(13)]),
                    label="Beam")


def _hot_key_peak(folder: Path, hot: int) -> tuple[list, int]:
    """One bundle of `hot` references to one URL key and 500 to others, counted; (the reader's
    counts, traced peak bytes of the writer and the reader)."""
    ex = Exchange(str(folder), 4)
    writer = WriteRows(ex, lambda kv: [kv], operator.add)
    tracemalloc.start()
    try:
        writer.start_bundle()
        for i in range(hot):
            writer.process((7, 1))
        for i in range(500):
            writer.process((1000 + i, 1))
        files = [value.value for value in writer.finish_bundle()]
        counts = [kv for p in range(4) for kv in ReadCombined(operator.add, 4).outputs(p, files)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return counts, peak


def test_a_hot_key_costs_a_combining_reader_one_value(tmp_path: Path) -> None:
    """A URL on every page (10^5 references here): its writer and its reader hold one count, so
    8x the references cost the same, where a grouping would list every reference in one reader."""
    small, small_peak = _hot_key_peak(tmp_path / "small", 12_500)
    large, large_peak = _hot_key_peak(tmp_path / "large", 100_000)
    assert dict(large)[7] == 100_000 and dict(small)[7] == 12_500 and len(large) == 501
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)


# The M3W graph's Beam groupings that are not a file grouping's partition numbers: none has an
# element per document (input files, stores, combiners' partials per bundle, shards, rejects rows).
NOT_PER_DOCUMENT = {
    "Inputs/MaybeReshuffle/Reshuffle/ReshufflePerKey/GroupByKey",
    "SpreadStores",
    "SmallestHashes/Top(5000)/GroupByKey",
    "Rejects/CountRows/CombineGlobally(CountCombineFn)/CombinePerKey/GroupByKey",
    "Rejects/GroupRejects",
}


def test_the_m3w_graph_groups_documents_through_files_only(tmp_path: Path) -> None:
    """Every corpus-level grouping of the job is a file grouping (its only Beam grouping is the
    grouping of its P partition numbers): what the local runner's launcher holds does not grow
    with the documents. A new per-document `GroupByKey` fails here."""
    from pipelines.config import build_parser, config_from_args, parse_job_args
    from pipelines.m3w import build_pipeline

    args, _ = parse_job_args(build_parser(), ["--input", "a.warc.gz", "--input", "b.warc.gz",
                                              "--output", str(tmp_path / "out")])
    pipeline = beam.Pipeline()
    build_pipeline(pipeline, config_from_args(args, []), None, "fingerprint")
    groupings = [t.unique_name for t in pipeline.to_runner_api().components.transforms.values()
                 if t.spec.urn == "beam:transform:group_by_key:v1"]
    through_files = [name for name in groupings if name.endswith("/Partitions/Spread")]
    assert len(through_files) == 15  # the decisions' 11, URL counts and routing, the join by store, frequent content
    assert set(groupings) - set(through_files) == NOT_PER_DOCUMENT


def test_a_grouping_runs_the_steps_around_it_in_its_writer_and_reader(tmp_path: Path) -> None:
    """`items` and `then` give what a Map before a grouping and a FlatMap after it give (same
    groups, same combined counts, same cogroups), with no Beam step of their own."""
    numbers = list(range(600))
    folder = str(tmp_path / "ex")
    with beam.Pipeline(runner=FnApiRunner()) as p:
        pn = p | "N" >> beam.Create(numbers)
        grouped = pn | "G" >> Exchange(folder, 4).group(items=lambda i: [(f"k{i % 13}", i)],
                                                        then=lambda kv: [(kv[0], sorted(kv[1]))])
        counted = pn | "C" >> Exchange(folder, 4).combine(operator.add, items=lambda i: [(i % 7, 1)],
                                                          then=lambda kv: [kv[0]] if kv[1] > 85 else [])
        joined = ({"n": pn, "m": pn | "M" >> beam.Map(lambda i: (i % 5, -i))}
                  | "J" >> Exchange(folder, 4).cogroup(items={"n": lambda i: [(i % 5, i)]},
                                                       then=lambda kv: [(kv[0], len(kv[1]["n"]), len(kv[1]["m"]))]))
        assert_that(grouped, equal_to([(f"k{k}", [i for i in numbers if i % 13 == k]) for k in range(13)]),
                    label="Grouped")
        assert_that(counted, equal_to([k for k in range(7) if sum(1 for i in numbers if i % 7 == k) > 85]),
                    label="Counted")
        assert_that(joined, equal_to([(k, 120, 120) for k in range(5)]), label="Joined")
    plain, folded = beam.Pipeline(), beam.Pipeline()
    _ = plain | beam.Create(numbers) | Exchange(folder, 4).group()
    _ = folded | beam.Create(numbers) | Exchange(folder, 4).group(items=lambda i: [(i, i)], then=lambda kv: [kv])
    assert _pardos(plain) == _pardos(folded)


def _pardos(pipeline: beam.Pipeline) -> int:
    return sum(1 for t in pipeline.to_runner_api().components.transforms.values()
               if t.spec.urn == "beam:transform:pardo:v1")


def test_the_m3w_graph_keeps_its_steps_few(tmp_path: Path) -> None:
    """Each Beam step costs the job ~15 ms of CPU whatever the corpus (its build and translation
    in the launcher, an operation per stage in every worker): the groupings run the steps around
    them inside their writers and readers, one-element lists are side inputs, not combiners.
    A new Map around a grouping, or a per-grouping step, fails here (156 ParDos before, 71 now)."""
    from pipelines.config import build_parser, config_from_args, parse_job_args
    from pipelines.m3w import build_pipeline

    args, _ = parse_job_args(build_parser(), ["--input", "a.warc.gz", "--output", str(tmp_path / "out")])
    pipeline = beam.Pipeline()
    build_pipeline(pipeline, config_from_args(args, []), None, "fingerprint")
    assert _pardos(pipeline) <= 75
