"""Many small keyed values shuffled as a few large ones.

The local runner's launcher holds every grouping's input decoded: one Python list per key and
one object per value, ~100–200 bytes of overhead for a value of 25 (16 MinHash band keys per
document cost ~4 KB of launcher memory there). `PackByBucket` gathers the (bucket, item) pairs of
a bundle and emits each bucket's items as one pickled byte string, so a grouping by bucket holds
one object per pack instead of a key and a value per item; `unpack` gives a group's items back.
The items of a bucket are the same set however the bundles were cut, so what the worker of a
bucket decides from them is what a grouping by each item's own key decides.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

PACK_ITEMS = 1024  # items per pack at most: what a worker holds per open bucket, whatever the bundle


class PackByBucket(beam.DoFn):
    """`items(element)` yields (bucket, item) pairs; emits (bucket, pickled list of items), a pack
    once it holds `max_items` and the rest when the bundle ends (global window only: the job's)."""

    def __init__(self, items: Callable[[Any], Iterable[tuple[int, Any]]], max_items: int = PACK_ITEMS) -> None:
        self.items, self.max_items = items, max_items
        self._packs: dict[int, list[Any]] = {}

    def start_bundle(self) -> None:
        self._packs = {}

    def process(self, element: Any) -> Iterator[tuple[int, bytes]]:
        for bucket, item in self.items(element):
            pack = self._packs.setdefault(bucket, [])
            pack.append(item)
            if len(pack) >= self.max_items:
                del self._packs[bucket]
                yield bucket, pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL)

    def finish_bundle(self) -> Iterator[Any]:
        for bucket in sorted(self._packs):
            yield GlobalWindows.windowed_value(
                (bucket, pickle.dumps(self._packs[bucket], protocol=pickle.HIGHEST_PROTOCOL)))
        self._packs = {}


def unpack(packs: Iterable[bytes]) -> Iterator[Any]:
    """The items of a bucket's packs."""
    for pack in packs:
        yield from pickle.loads(pack)


JOIN_BUCKETS = 256  # groups of keys a packed grouping uses: a worker regroups 1/256 of the input at once


def key_bucket(key: Any, buckets: int = JOIN_BUCKETS) -> int:
    """A stable bucket of a key (str, bytes, int or a tuple of them), the same on every worker."""
    digest = hashlib.blake2b(pickle.dumps(key, protocol=4), digest_size=4).digest()
    return int.from_bytes(digest, "big") % buckets


class PackedCoGroupByKey(beam.PTransform):
    """`CoGroupByKey` of a dict of keyed PCollections, its (key, {tag: [values]}) output included,
    shuffled as packs (`PackByBucket`, by `key_bucket`): one object per pack in the local runner's
    launcher instead of a key, a tagged tuple and a value per element. The order of the keys and
    of a tag's values is a grouping's: none."""

    def __init__(self, buckets: int = JOIN_BUCKETS) -> None:
        super().__init__()
        self.buckets = buckets

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        tags, buckets = sorted(inputs), self.buckets

        def tagged(tag: str) -> Callable[[tuple[Any, Any]], list[tuple[int, Any]]]:
            return lambda kv: [(key_bucket(kv[0], buckets), (tag, kv[0], kv[1]))]

        def regroup(element: tuple[int, Iterable[bytes]]) -> Iterator[tuple[Any, dict[str, list[Any]]]]:
            groups: dict[Any, dict[str, list[Any]]] = {}
            for tag, key, value in unpack(element[1]):
                if key not in groups:
                    groups[key] = {t: [] for t in tags}
                groups[key][tag].append(value)
            yield from groups.items()

        packs = [inputs[tag] | f"Pack_{tag}" >> beam.ParDo(PackByBucket(tagged(tag))) for tag in tags]
        return (packs | "Packs" >> beam.Flatten() | "GroupPacks" >> beam.GroupByKey()
                | "Regroup" >> beam.FlatMap(regroup))


class PackedGroupByKey(beam.PTransform):
    """`GroupByKey` ((key, [values]) out) shuffled as packs, as `PackedCoGroupByKey` is."""

    def __init__(self, buckets: int = JOIN_BUCKETS) -> None:
        super().__init__()
        self.buckets = buckets

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return ({"value": pcoll} | "Group" >> PackedCoGroupByKey(self.buckets)
                | "Values" >> beam.Map(lambda kv: (kv[0], kv[1]["value"])))
