"""File groupings (`pipelines.exchange`) give what Beam's `CoGroupByKey` gives, on a real
FnApiRunner, and hold a bounded amount: a writer its flush buffer whatever the bundle, a reader
its partition (1/P of the grouping), so 8x the corpus at 8x the partitions costs a reader the same."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipelines import exchange
from pipelines.exchange import Exchange, ReadGroups, WriteRows, read_partition


def _normal(kv):
    key, groups = kv
    return key, {tag: sorted(values) for tag, values in sorted(groups.items())}


def test_file_cogroup_equals_cogroupbykey(tmp_path: Path) -> None:
    """Same keys, same values per tag (a key of one tag only included), over several partitions
    and bundles; only the file names cross Beam."""
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


def _write(folder: Path, n_items: int, partitions: int) -> tuple[list[str], int]:
    """Write `n_items` ("value", key, ~100-byte value) items as one bundle; (file paths, traced peak bytes
    while the items come; closing the file then writes its footer, ~300 bytes per row group)."""
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


def _read_peak(paths: list[str], partition: int) -> tuple[int, int]:
    """(items of one partition's groups, traced peak bytes while one reader groups it)."""
    tracemalloc.start()
    try:
        groups = list(ReadGroups(["value"]).process(partition, paths))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return sum(len(g["value"]) for _, g in groups), peak


def test_a_writer_holds_its_flush_buffer_whatever_the_bundle(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(exchange, "FLUSH_BYTES", 64 << 10)
    _, small = _write(tmp_path / "small", 4_000, 4)
    _, large = _write(tmp_path / "large", 32_000, 32)
    # holding the large bundle's items would take > 4 MB: a writer holds its 64 KB flush buffer
    assert large < 1.5 * small, (small, large)


def test_a_reader_holds_its_partition_share(tmp_path: Path) -> None:
    """8x the items in 8x the partitions: a reader holds the same (its partition's groups, and
    each file's footer: ~300 bytes per row group, a row group per partition and flush)."""
    small, large, partitions = 4_000, 32_000, 4
    paths_small, _ = _write(tmp_path / "small", small, partitions)
    paths_large, _ = _write(tmp_path / "large", large, 8 * partitions)
    n_small, read_small = _read_peak(paths_small, 0)
    n_large, read_large = _read_peak(paths_large, 0)
    assert 0.7 < n_large / n_small < 1.3, (n_small, n_large)  # the same share: P grew with the corpus
    assert read_large < 1.5 * read_small, (read_small, read_large)
    every = [item for p in range(8 * partitions) for item in read_partition(paths_large, p)]
    assert sorted(key for _, key, _ in every) == list(range(large))  # each item once, in one partition


# The M3W graph's Beam groupings that are not a file grouping's partition numbers: none has an
# element per document (input files, stores, combiners' partials per bundle, shards, rejects rows).
NOT_PER_DOCUMENT = {
    "Inputs/MaybeReshuffle/Reshuffle/ReshufflePerKey/GroupByKey",
    "AllFiles/AllFiles/CombinePerKey/GroupByKey",
    "CountStores/CombineGlobally(CountCombineFn)/CombinePerKey/GroupByKey",
    "SpreadStores/ReshufflePerKey/GroupByKey",
    "SmallestHashes/Top(5000)/GroupByKey",
    "ShardList/ShardList/CombinePerKey/GroupByKey",
    "Rejects/CountRows/CombineGlobally(CountCombineFn)/CombinePerKey/GroupByKey",
    "Rejects/GroupRejects",
}


def test_the_m3w_graph_groups_documents_through_files_only(tmp_path: Path) -> None:
    """Every corpus-level grouping of the job is a file grouping (its only Beam grouping is the
    reshuffle of its P partition numbers): what the local runner's launcher holds does not grow
    with the documents. A new per-document `GroupByKey` fails here."""
    from pipelines.config import build_parser, config_from_args, parse_job_args
    from pipelines.m3w import build_pipeline

    args, _ = parse_job_args(build_parser(), ["--input", "a.warc.gz", "--input", "b.warc.gz",
                                              "--output", str(tmp_path / "out")])
    pipeline = beam.Pipeline()
    build_pipeline(pipeline, config_from_args(args, []), None, "fingerprint")
    groupings = [t.unique_name for t in pipeline.to_runner_api().components.transforms.values()
                 if t.spec.urn == "beam:transform:group_by_key:v1"]
    through_files = [name for name in groupings if "/Partitions/MaybeReshuffle/" in name]
    assert len(through_files) == 15  # the decisions' 11, URL counts and routing, the join by store, frequent content
    assert set(groupings) - set(through_files) == NOT_PER_DOCUMENT
