"""Every record and shard member both jobs write validates against its schema in `schemas/`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
import webdataset as wds

import schemas
from m3w_builder.drops import Rejected
from m3w_builder.extract import extract
from tests.conftest import shared_path


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = schemas.load(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def errors(name: str, instances) -> list[str]:
    check = validator(name)
    return [f"{i}: {e.message}" for i, inst in enumerate(instances) for e in check.iter_errors(inst)]


def shard_samples(out: Path) -> list[dict]:
    return list(wds.WebDataset([str(t) for t in sorted(out.glob("*.tar"))], shardshuffle=False))


def parquet_rows(paths) -> list[dict]:
    return [r for p in sorted(paths) for r in pq.read_table(io.BytesIO(p.read_bytes())).to_pylist()]


def test_every_schema_is_a_valid_json_schema() -> None:
    names = {p.name.split(".v")[0] for p in Path(schemas.__file__).parent.glob("*.v*.json")}
    assert names >= {"document", "m3w_sample", "pair_sample", "dataset", "manifest", "pair_manifest", "rejects"}
    for name in names:
        validator(name)


def test_schema_rejects_a_forged_marker_in_metadata() -> None:
    """The sample schema is strict where the contract is: no literal marker survives in alt text."""
    check = validator("m3w_sample")
    image = {"index": 0, "kind": "image", "member": "0.jpg", "src": "http://a.test/x.jpg", "sha256": "0" * 64,
             "phash": "0" * 16, "original_size": [10, 10], "stored_size": [10, 10], "alt": "x<EOC>", "caption": "",
             "image_class": "content"}
    sample = {"key": "0" * 32 + "_000", "doc_id": "0" * 32, "url": "http://a.test/", "title": "", "language": "",
              "window": {"index": 0, "token_start": 0, "token_end": 3, "doc_tokens": 3}, "text": "<image>x<EOC>",
              "input_ids": [4, 9, 5], "images": [image]}
    assert any("alt" in list(e.absolute_path) for e in check.iter_errors(sample))
    image["alt"] = "x"
    assert not list(check.iter_errors(sample))


def test_documents_of_every_shared_page_validate() -> None:
    pages = [p for p in sorted(shared_path("html").rglob("*.htm*")) if ".expected." not in p.name]
    docs = []
    for page in pages:
        try:
            docs.append(extract(page.read_bytes(), "http://fakehost/test/page.html").document.to_dict())
        except Rejected:
            continue
    assert len(docs) > 300
    assert errors("document", docs) == []


def test_m3w_outputs_validate(m3w_dataset: Path) -> None:
    dataset = json.loads((m3w_dataset / "dataset.json").read_text())
    assert errors("dataset", [dataset]) == []
    metas = [json.loads(s["json"]) for s in shard_samples(m3w_dataset)]
    assert metas and errors("m3w_sample", metas) == []
    manifest = parquet_rows(m3w_dataset.glob("*.parquet"))
    assert any(r["status"] != "success" for r in manifest)  # failures are rows too
    assert errors("manifest", manifest) == []
    rejects = parquet_rows((m3w_dataset / "rejects").glob("*.parquet"))
    assert rejects and errors("rejects", rejects) == []


def test_pair_outputs_validate(pair_dataset: Path) -> None:
    dataset = json.loads((pair_dataset / "dataset.json").read_text())
    assert errors("dataset", [dataset]) == []
    metas = [json.loads(s["json"]) for s in shard_samples(pair_dataset)]
    assert metas and errors("pair_sample", metas) == []
    manifest = parquet_rows(pair_dataset.glob("*.parquet"))
    assert errors("pair_manifest", manifest) == []
    rejects = parquet_rows((pair_dataset / "rejects").glob("*.parquet"))
    assert errors("rejects", rejects) == []


@pytest.mark.parametrize("bad", [{"doc_id": "not-hex"}, {"nodes": [{"type": "text", "text": ""}]},
                                 {"nodes": [{"type": "image", "src": "javascript:x"}]}])
def test_document_schema_catches_broken_documents(bad: dict) -> None:
    doc = {"doc_id": "0" * 32, "url": "http://a.test/", "nodes": [{"type": "text", "text": "hi"}], "fetch_time": "",
           "source": "", "language": "", "title": "", "schema_version": 1, **bad}
    assert errors("document", [doc])
