"""Pure rules moved out of the Beam wiring, tested without a runner: dedup keys and survivors,
local list paths, the tar reader, and flags generated from option dataclasses."""

from __future__ import annotations

import argparse
import io
import os
from collections import Counter
from dataclasses import dataclass

import pytest

from m3w_builder.document import Document, ImageNode, TextNode, make_doc_id
from m3w_builder.options import add_options, flag_name, option, options_from_args
from m3w_builder.output.shards import ShardWriter
from m3w_builder.output.tars import iter_samples
from m3w_builder.pairs.align import CaptionRules
from m3w_builder.pairs.paths import is_local, local_url
from m3w_builder.quality import dedup
from m3w_builder.quality.options import QualityOptions


def doc(url: str, paragraphs: list[str], images: list[str] = (), fetch_time: str = "") -> Document:
    nodes = [TextNode(p) for p in paragraphs] + [ImageNode(src) for src in images]
    return Document(doc_id=make_doc_id(url, nodes), url=url, nodes=nodes, fetch_time=fetch_time)


def test_capture_time_reads_iso_and_warc_dates_and_ranks_unreadable_last():
    assert dedup.capture_time("20240101000000") == dedup.capture_time("2024-01-01T00:00:00Z")
    assert dedup.capture_time("2024-01-01T00:00:00") == dedup.capture_time("2024-01-01T00:00:00+00:00")
    assert dedup.capture_time("yesterday") == float("-inf")


def test_url_losers_keep_the_latest_capture_then_the_smallest_id():
    assert sorted(dedup.url_losers([(1.0, "b"), (2.0, "c"), (2.0, "d")])) == [("b", "c"), ("d", "c")]
    assert list(dedup.url_losers([(1.0, "a"), (1.0, "a")])) == []  # the same capture twice


def test_candidate_pairs_are_bounded_per_bucket():
    pairs = list(dedup.candidate_pairs(["d", "a", "c", "b", "a"], max_candidates=2))
    assert pairs == [("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"), ("c", "d")]
    big = list(dedup.candidate_pairs([f"{i:05d}" for i in range(2000)], max_candidates=8))
    fan_in = Counter(smaller for smaller, _ in big)
    assert len(big) < 8 * 2000 and max(fan_in.values()) == 8  # the smallest id does not gather the bucket


def test_image_set_key_ignores_order_and_needs_enough_images():
    a = doc("https://x/1", ["t"], ["https://i/1.jpg", "https://i/2.jpg"])
    b = doc("https://x/2", ["u"], ["https://i/2.jpg", "https://i/1.jpg", "https://i/1.jpg"])
    assert dedup.image_set_key(a, 2) == dedup.image_set_key(b, 2) is not None
    assert dedup.image_set_key(doc("https://x/3", ["t"], ["https://i/1.jpg"]), 2) is None
    assert list(dedup.smallest_wins(["c", "a", "b"])) == [("b", "a"), ("c", "a")]


def test_paragraph_keys_normalise_case_and_space_and_stripping_counts():
    page = doc("https://x/1", ["Follow  us", "follow us", "Story text", "   "])
    assert len(dedup.paragraph_keys(page)) == 2
    stripped, removed = dedup.strip_paragraphs(page, {dedup.paragraph_key("FOLLOW US")})
    assert removed == 2 and [n.text for n in stripped.nodes] == ["Story text", "   "]
    assert dedup.has_text(stripped)
    only, _ = dedup.strip_paragraphs(page, {dedup.paragraph_key("follow us"), dedup.paragraph_key("story text")})
    assert not dedup.has_text(only)


def test_local_list_paths(tmp_path):
    listing = tmp_path / "lists" / "a.csv"
    assert is_local("images/1.jpg") and is_local("file:///data/1.jpg") and not is_local("https://x/1.jpg")
    assert local_url("images/../1.jpg", str(listing)) == "file://" + os.path.join(str(tmp_path), "lists", "1.jpg")
    assert local_url("file:///data/1.jpg", "gs://bucket/a.csv") == "file:///data/1.jpg"


def test_tar_reader_groups_adjacent_members_in_order():
    buf = io.BytesIO()
    writer = ShardWriter(buf)
    writer.add_sample("k1", [("json", b"{}"), ("0.jpg", b"a"), ("1.003.jpg", b"b")])
    writer.add_sample("k2", [("txt", b"c")])
    writer.close()
    buf.seek(0)
    assert list(iter_samples(buf)) == [("k1", [("json", b"{}"), ("0.jpg", b"a"), ("1.003.jpg", b"b")]),
                                       ("k2", [("txt", b"c")])]


@dataclass(frozen=True)
class _Toy:
    size: int = option(3, "how big")
    ratio: float | None = option(None, "a bound (None: off)")
    mode: str = option("tile", "how", flag="toy_mode", choices=("tile", "random"))
    enabled: bool = option(True, "switch it off")
    verbose: bool = option(False, "say more")
    paths: tuple[str, ...] = option((), "files")
    internal: int = 7  # not an option: no flag


def _parse(cls, argv):
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_options(parser, cls)
    return parser, parser.parse_args(argv)


def test_flags_come_from_option_fields_with_their_defaults():
    parser, args = _parse(_Toy, [])
    assert options_from_args(_Toy, args) == _Toy()
    _, args = _parse(_Toy, ["--size", "5", "--ratio", "0.5", "--toy_mode", "random", "--no_enabled", "--verbose",
                            "--paths", "a", "--paths", "b"])
    assert options_from_args(_Toy, args) == _Toy(5, 0.5, "random", False, True, ("a", "b"))
    assert "--internal" not in parser.format_help() and "(default: 3)" in parser.format_help()
    with pytest.raises(SystemExit):
        _parse(_Toy, ["--toy_mode", "sideways"])


def test_real_option_classes_keep_their_historic_flags():
    fields = {f.name: f for f in CaptionRules.__dataclass_fields__.values()}
    assert flag_name(fields["max_chars"]) == "max_caption_chars" and CaptionRules().max_chars == 4000
    assert flag_name(fields["drop_boilerplate"]) == "keep_boilerplate_captions"
    _, args = _parse(QualityOptions, ["--no_near_dup", "--minhash_bands", "8"])
    options = options_from_args(QualityOptions, args)
    assert not options.near_dup and options.minhash_params().rows == 16
    with pytest.raises(ValueError):
        QualityOptions(minhash_bands=7)
