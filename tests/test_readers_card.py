"""The dataset card README.md written next to report.html, read back by huggingface_hub's own
`DatasetCard` parser (the Hub's) and checked against the run's dataset.json and counters."""

from __future__ import annotations

import json
import shutil

import pytest

from m3w_builder.output.card import CardOptions
from pipelines.report import write_report


@pytest.mark.parametrize("kind,license", [("m3w", "cc-by-4.0"), ("ltip", None)])
def test_card_in_hugging_face_layout_states_this_run(sample_output, tmp_path, kind, license):
    hub = pytest.importorskip("huggingface_hub")
    out = tmp_path / kind
    shutil.copytree(sample_output(kind), out)
    write_report(str(out), max_windows=2, card_opts=CardOptions(license=license) if license else None)
    text = (out / "README.md").read_text(encoding="utf-8")
    card = hub.DatasetCard(text)
    meta = card.data.to_dict()
    dataset = json.loads((out / "dataset.json").read_text())
    counters = dataset["stats"]
    assert meta["license"] == (license or "unknown") and meta["size_categories"] == ["n<1K"]
    languages = sorted(k[len("language/n_"):] for k in counters if k.startswith("language/n_"))
    assert sorted(meta.get("language", [])) == languages
    samples = sum(s["nsamples"] for s in dataset["shardlist"])
    assert f"{samples:,} samples in {len(dataset['shardlist'])} shards" in card.text
    for name, value in counters.items():  # every stage on the convention appears with its kept count
        stage, _, reason = name.partition("/")
        if reason == "kept":
            assert f"| {stage} (" in card.text and f"| {value:,} |" in card.text
    assert json.loads(card.text.split("```json\n", 1)[1].split("```", 1)[0]) == dataset["options"]
    for heading in ("## Dataset Structure", "## Dataset Creation", "### Opt-outs honoured",
                    "## Licensing Information", "## Known limitations"):
        assert heading in card.text
    assert ("**cc-by-4.0**" in card.text) == bool(license) and (out / "report.html").exists()


def test_job_license_flag_reaches_the_card(tmp_path):
    hub = pytest.importorskip("huggingface_hub")
    from pipelines.pairs import run

    out = tmp_path / "vtp"
    dataset = run(["--source", "vtp", "--output", str(out), "--no_http", "--direct_num_workers=1",
                   "--license", "other", "--license_name", "Example Licence", "--license_link", "https://l.test/"])
    assert dataset["options"]["card"]["license"] == "other"
    meta = hub.DatasetCard((out / "README.md").read_text(encoding="utf-8")).data.to_dict()
    assert (meta["license"], meta["license_name"], meta["license_link"]) == ("other", "Example Licence", "https://l.test/")
