"""Pair shards in img2dataset's three output formats, and one reader for all of them.

- `webdataset`: `{stem}.tar` (+ `.idx`) and the manifest `{stem}.parquet` (`shards.py`, `tars.py`).
- `parquet`: `{stem}.parquet` is the manifest with the media in columns: `jpg` (image bytes) for
  ALIGN/LTIP, `frames` (a list of `{t, jpg}`) for VTP; null on failed rows.
- `files`: a folder `{stem}/` holding each sample's members as `KEY.jpg`, `KEY.txt`, `KEY.json`
  (VTP: `KEY.000.jpg`, ...) beside the manifest `{stem}.parquet`.

A shard's `url` in dataset.json names its format: `….tar`, `….parquet` or `…/` (a folder).
Plain Python and pyarrow: no Beam, so readers and exporters use it as well as the job.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from m3w_builder.output import tars
from m3w_builder.output.tars import Members

WEBDATASET, PARQUET, FILES = "webdataset", "parquet", "files"
OUTPUT_FORMATS = (WEBDATASET, PARQUET, FILES)
_FRAME = pa.struct([("t", pa.float64()), ("jpg", pa.binary())])
MEDIA_FIELDS = {"image": pa.field("jpg", pa.binary()), "video": pa.field("frames", pa.list_(_FRAME))}
MEDIA_COLUMNS = frozenset(f.name for f in MEDIA_FIELDS.values())


def shard_url(stem: str, output_format: str) -> str:
    """The shardlist url of shard `stem` (`ltip-000003`) in `output_format`."""
    return {WEBDATASET: f"{stem}.tar", PARQUET: f"{stem}.parquet", FILES: f"{stem}/"}[output_format]


def format_of(url: str) -> str:
    """The output format a shardlist url names."""
    if url.endswith("/"):
        return FILES
    return PARQUET if url.endswith(".parquet") else WEBDATASET


def stem_of(url: str) -> str:
    return url.rstrip("/").removesuffix(".tar").removesuffix(".parquet")


def manifest_name(url: str) -> str:
    """The manifest of a shard: its parquet (in the parquet format, the shard itself)."""
    return stem_of(url) + ".parquet"


def parquet_schema(manifest: pa.Schema, kind: str) -> pa.Schema:
    """The parquet format's schema: the manifest's columns, then the media column of `kind`."""
    return manifest.append(MEDIA_FIELDS[kind])


def media_cells(members: Members) -> dict[str, Any]:
    """A sample's media as parquet cells: `{"jpg": bytes}` or `{"frames": [{t, jpg}, ...]}`."""
    by_suffix = dict(members)
    if "jpg" in by_suffix:
        return {"jpg": by_suffix["jpg"]}
    meta = json.loads(by_suffix["json"])
    return {"frames": [{"t": f["t"], "jpg": by_suffix[f["member"]]} for f in meta["frames"]]}


def _row_members(row: dict) -> Members:
    """A parquet-format row as WebDataset members (`json` is the row without its media)."""
    meta = {k: v for k, v in row.items() if k not in MEDIA_COLUMNS}
    media: Members = []
    if row.get("jpg") is not None:
        media = [("jpg", row["jpg"])]
    elif row.get("frames") is not None:
        listed = [{"t": f["t"], "member": f"{int(f['t']):03d}.jpg"} for f in row["frames"]]
        meta["frames"] = listed
        media = [(e["member"], f["jpg"]) for e, f in zip(listed, row["frames"])]
    text = json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return [*media, ("txt", (row.get("caption") or "").encode("utf-8")), ("json", text)]


def iter_parquet_samples(data: bytes) -> Iterator[tuple[str, Members]]:
    """(key, members) of every successful row of a parquet-format shard, in row order."""
    for row in pq.read_table(io.BytesIO(data)).to_pylist():
        if row.get("status") == "success":
            yield row["key"], _row_members(row)


def file_name(key: str, suffix: str) -> str:
    return f"{key}.{suffix}"


def iter_folder_samples(names: list[str], read: Callable[[str], bytes]) -> Iterator[tuple[str, Members]]:
    """(key, members) of a files-format folder given its file names, by key then member name
    (hidden names, such as a killed writer's temporaries, are not members)."""
    grouped: dict[str, list[str]] = {}
    for name in sorted(names):
        key, _, suffix = name.partition(".")
        if key and suffix:
            grouped.setdefault(key, []).append(suffix)
    for key, suffixes in grouped.items():
        yield key, [(suffix, read(file_name(key, suffix))) for suffix in suffixes]


def folder_files(samples: list[tuple[str, Members]]) -> dict[str, bytes]:
    """The files of a files-format folder: `KEY.suffix` → bytes."""
    return {file_name(key, suffix): data for key, members in samples for suffix, data in members}


def folder_digest(files: dict[str, bytes]) -> tuple[int, str]:
    """(total bytes, md5 over names and bytes in name order): a folder's shardlist size and md5sum."""
    md5 = hashlib.md5()
    for name in sorted(files):
        md5.update(name.encode("utf-8") + b"\0" + files[name])
    return sum(len(d) for d in files.values()), md5.hexdigest()


def iter_shard(url: str, open_file: Callable[[str], IO[bytes]],
               list_folder: Callable[[str], list[str]]) -> Iterator[tuple[str, Members]]:
    """(key, members) of every sample of the shard `url`, any format: `open_file(relative path)`
    opens a file of the output folder, `list_folder(url)` names the files of a folder."""
    output_format = format_of(url)
    if output_format == FILES:
        def read(name: str) -> bytes:
            with open_file(url + name) as handle:
                return handle.read()

        yield from iter_folder_samples(list_folder(url), read)
        return
    with open_file(url) as handle:
        if output_format == PARQUET:
            yield from iter_parquet_samples(handle.read())
        else:
            yield from tars.iter_samples(handle)
