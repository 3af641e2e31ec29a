"""Quality stages: real Beam pipelines on the FnApiRunner, drop reasons asserted via rejects."""

from __future__ import annotations

import argparse
import json
import pickle
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from m3w_builder.document import Document, ImageNode, TextNode, make_doc_id
from m3w_builder.drops import Rejected
from m3w_builder.options import add_options, options_from_args
from m3w_builder.quality import dedup
from m3w_builder.quality.blocklist import BlockList
from m3w_builder.quality.language import detect_language
from m3w_builder.quality.options import QualityOptions
from m3w_builder.quality.optout import (
    apply_page_optout,
    header_directives,
    image_drop_reason,
    meta_directives,
)
from m3w_builder.quality.prepass import PrepassConfig, prepass_reason
from m3w_builder.quality.urlkeys import normalize_url
from pipelines import quality
from pipelines.exchange import Exchange
from pipelines.metrics import NAMESPACE, REJECTS, recording
from pipelines.stages import Chain, LibraryStage

EN = "The river flows quietly through the old town, past the market where farmers sell fresh bread, cheese and vegetables every morning."
FR = "La rivière traverse tranquillement la vieille ville, près du marché où les agriculteurs vendent du pain frais et des légumes chaque matin."
DE = "Der Fluss fließt ruhig durch die Altstadt, vorbei am Markt, wo die Bauern jeden Morgen frisches Brot, Käse und Gemüse verkaufen."


VOCABULARY = sorted(
    set(
        (
            EN
            + " and with from that this have were would could people time year day water house city river story".lower()
        )
        .replace(",", "")
        .replace(".", "")
        .split()
    )
)


def words(seed: int, n: int) -> str:
    """`n` English words in a seeded random order: distinct 5-gram shingles per seed."""
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(n))


def make_doc(
    url: str, paragraphs: list[str], images: list[str] = (), fetch_time: str = "2024-01-01T00:00:00Z"
) -> Document:
    nodes = [TextNode(p) for p in paragraphs] + [ImageNode(src) for src in images]
    return Document(doc_id=make_doc_id(url, nodes), url=url, nodes=nodes, fetch_time=fetch_time)


def keyed(docs: list[Document], options: QualityOptions | None = None) -> tuple[list, list[dict], dict[str, int]]:
    """The documents through the job's per-document quality steps (outside Beam, as the document
    pass runs them): (document, DocKeys) pairs, rejects rows, counters."""
    chain = Chain(quality.document_stages(options or QualityOptions(language_id=False)))
    chain.setup()
    pairs, rows = [], []
    with recording() as counters:
        for doc in docs:
            for out in chain.run(doc):
                if isinstance(out, beam.pvalue.TaggedOutput):
                    rows.append(out.value)
                else:
                    pairs.append(out)
    return pairs, rows, dict(counters)


def run(transform, items: list, tmp_path: Path, options: QualityOptions | None = None
        ) -> tuple[list, list[dict], dict[str, int]]:
    """Run `transform` (a decision `Step` or `QualityStage` over DocKeys, or a per-document
    `LibraryStage`) over `items`; return kept items (documents, with site-wide paragraphs removed),
    rejects rows and `m3w` counters. Documents given to a decision transform go through `keyed`
    first; a `Step` runs alone (every capture goes on), its groupings in `tmp_path`'s files."""
    stage = isinstance(transform, LibraryStage)
    documents = items and isinstance(items[0], Document)
    pre_rows: list[dict] = []
    pre_counters: dict[str, int] = {}
    if documents and not stage:
        pairs, pre_rows, pre_counters = keyed(items, options)
        by_key = {(k.doc_id, k.fetch_time, k.source): d for d, k in pairs}
        inputs = [k for _, k in pairs]
    else:
        inputs = items
    pipeline = beam.Pipeline(runner=FnApiRunner())
    created = pipeline | beam.Create(inputs, reshuffle=False)
    if stage:
        out = created | beam.ParDo(transform).with_outputs(REJECTS, main="docs")
    elif isinstance(transform, quality.Step):
        out = created | quality.Decisions([(type(transform).__name__, transform)], exchange(tmp_path), latest=False)
    else:
        out = created | transform
    out["docs"] | "EncodeDocs" >> beam.Map(lambda d: pickle.dumps(d).hex()) | "WriteDocs" >> beam.io.WriteToText(
        str(tmp_path / "docs"))
    out["rejects"] | "EncodeRejects" >> beam.Map(json.dumps) | "WriteRejects" >> beam.io.WriteToText(
        str(tmp_path / "rejects"))
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query()["counters"]
        if c.key.metric.namespace == NAMESPACE
    }
    for name, n in pre_counters.items():
        counters[name] = counters.get(name, 0) + n

    def read(prefix: str) -> list[str]:
        return [line for path in sorted(tmp_path.glob(f"{prefix}-*")) for line in path.read_text().splitlines()]

    kept = [pickle.loads(bytes.fromhex(line)) for line in read("docs")]
    if documents and not stage:
        kept = [dedup.strip_paragraphs(by_key[(k.doc_id, k.fetch_time, k.source)], set(k.strip))[0] for k in kept]
    rows = pre_rows + [json.loads(line) for line in read("rejects")]
    return kept, rows, counters


def exchange(tmp_path: Path) -> Exchange:
    """File groupings in a test's folder, with fewer partitions than keys (several keys a partition)."""
    return Exchange(str(tmp_path / "exchange"), 4)


def reasons(rejects: list[dict]) -> dict[str, str]:
    return {r["id"]: f"{r['stage']}/{r['reason']}" for r in rejects}


def test_url_dedup_keeps_latest_capture(tmp_path: Path) -> None:
    old = make_doc("http://www.example.com/a?utm_source=x", ["old text"], fetch_time="2023-01-01T00:00:00Z")
    new = make_doc("https://example.com/a", ["new text"], fetch_time="2024-06-01T12:00:00Z")
    copy_of_new = Document(**{**new.__dict__, "fetch_time": "2022-01-01T00:00:00Z"})  # same id, older
    tie_a = make_doc("https://example.com/b", ["version a"])
    tie_b = make_doc("https://example.com/b#frag", ["version b"])
    other = make_doc("https://example.com/c", ["other"])
    kept, rejects, counters = run(quality.UrlDedup(), [old, new, copy_of_new, tie_a, tie_b, other], tmp_path)

    tie_winner, tie_loser = sorted([tie_a, tie_b], key=lambda d: d.doc_id)
    assert sorted(d.doc_id for d in kept) == sorted([new.doc_id, tie_winner.doc_id, other.doc_id])
    assert [d.fetch_time for d in kept if d.doc_id == new.doc_id] == ["2024-06-01T12:00:00Z"]
    assert sorted((r["id"], r["reason"]) for r in rejects) == sorted(
        [(old.doc_id, "url_duplicate"), (new.doc_id, "url_duplicate"), (tie_loser.doc_id, "url_duplicate")]
    )
    assert counters["url_dedup/url_duplicate"] == 3 and counters["url_dedup/kept"] == 3


def test_near_duplicates_merged_and_distinct_pages_kept(tmp_path: Path) -> None:
    article = [words(seed, 120) for seed in range(5)]
    header_a, footer_a = (
        "Home News Sport Weather Contact us",
        "Copyright 2023 Example Media. All rights reserved.",
    )
    header_b, footer_b = (
        "Menu Subscribe Log in Search",
        "Share this story on social media. Updated 5 May 2024.",
    )
    page_a = make_doc("https://a.example/story", [header_a, *article, footer_a])
    page_b = make_doc(
        "https://mirror.example/copy", [header_b, *article, footer_b]
    )  # boilerplate only differs
    page_c = make_doc("https://mirror2.example/copy", [*article[:4], article[4] + " extra words here"])
    other = make_doc(
        "https://a.example/other", [header_a, *[words(100 + s, 120) for s in range(5)], footer_a]
    )
    edited = make_doc(
        "https://a.example/edited", [header_a, *article[:3], words(200, 120), words(201, 120), footer_a]
    )
    empty = make_doc("https://a.example/empty", [])
    docs = [page_a, page_b, page_c, other, edited, empty]
    kept, rejects, counters = run(quality.NearDupDedup(), docs, tmp_path)

    cluster = sorted([page_a, page_b, page_c], key=lambda d: d.doc_id)
    assert sorted(d.doc_id for d in kept) == sorted(
        [cluster[0].doc_id, other.doc_id, edited.doc_id, empty.doc_id]
    )
    assert reasons(rejects) == {d.doc_id: "near_dup/near_duplicate" for d in cluster[1:]}
    assert counters["near_dup/n_verified_pairs"] >= 2


def test_near_dup_precision_and_recall_on_constructed_corpus(tmp_path: Path) -> None:
    """40 articles × 3 boilerplate variants (same content: one survivor each) + 40 distinct
    articles sharing one site template (different content: all kept)."""
    templates = [
        (
            "Home | World | Business | Tech | Contact",
            "© 2024 Daily Example. All rights reserved. Privacy policy.",
        ),
        (
            "Menu Subscribe Sign in Search the archive",
            "Share this article: Facebook Twitter Email. Updated 5 May.",
        ),
        ("Skip to content. Latest news and weather", "Related stories you may have missed. Cookie settings."),
    ]
    clusters = []
    for i in range(40):
        article = [words(1000 + 10 * i + p, 60) for p in range(5)]
        clusters.append(
            [
                make_doc(f"https://site{v}.example/a{i}", [head, *article, foot])
                for v, (head, foot) in enumerate(templates)
            ]
        )
    head, foot = templates[0]
    distinct = [
        make_doc(
            f"https://site0.example/d{i}", [head, *[words(5000 + 10 * i + p, 60) for p in range(5)], foot]
        )
        for i in range(40)
    ]
    kept, rejects, _ = run(quality.NearDupDedup(), [d for c in clusters for d in c] + distinct, tmp_path)

    expected = {min(d.doc_id for d in c) for c in clusters} | {d.doc_id for d in distinct}
    assert {d.doc_id for d in kept} == expected
    assert len(rejects) == 80 and {r["reason"] for r in rejects} == {"near_duplicate"}


def test_near_dup_survivor_does_not_depend_on_input_order(tmp_path: Path) -> None:
    base = [words(seed, 150) for seed in range(4)]
    docs = [make_doc(f"https://site{i}.example/p", [f"site {i} banner", *base]) for i in range(6)]
    first, _, _ = run(quality.NearDupDedup(), docs, tmp_path / "one")
    second, _, _ = run(quality.NearDupDedup(), docs[::-1], tmp_path / "two")
    assert [d.doc_id for d in first] == [d.doc_id for d in second] == [min(d.doc_id for d in docs)]


def test_image_set_dedup(tmp_path: Path) -> None:
    imgs = ["https://img.example/1.jpg", "https://img.example/2.jpg"]
    same_a = make_doc("https://x.example/a", ["a"], imgs)
    same_b = make_doc("https://x.example/b", ["b"], imgs[::-1])
    subset = make_doc("https://x.example/c", ["c"], imgs[:1] + ["https://img.example/3.jpg"])
    logo_a = make_doc("https://x.example/d", ["d"], ["https://x.example/logo.png"])
    logo_b = make_doc("https://x.example/e", ["e"], ["https://x.example/logo.png"])
    text_only = make_doc("https://x.example/f", ["f"])
    kept, rejects, _ = run(
        quality.ImageSetDedup(), [same_a, same_b, subset, logo_a, logo_b, text_only], tmp_path
    )
    winner, loser = sorted([same_a, same_b], key=lambda d: d.doc_id)
    assert sorted(d.doc_id for d in kept) == sorted(
        d.doc_id for d in [winner, subset, logo_a, logo_b, text_only]
    )
    assert reasons(rejects) == {loser.doc_id: "image_set_dedup/image_set_duplicate"}


def test_image_set_of_the_latest_capture_decides(tmp_path: Path) -> None:
    """Two captures of one document (same doc_id), the latest without its media (a page-level
    `noimageai`): the image set of the capture that goes on counts, not the older one's."""
    imgs = ["https://img.example/1.jpg", "https://img.example/2.jpg"]
    other = make_doc("https://x.example/other", ["other"], imgs)
    old = next(d for d in (make_doc(f"https://x.example/p{i}", ["page"], imgs, fetch_time="2023-01-01T00:00:00Z")
                           for i in range(50)) if d.doc_id < other.doc_id)
    latest = Document(**{**old.__dict__, "nodes": [n for n in old.nodes if isinstance(n, TextNode)],
                         "fetch_time": "2024-01-01T00:00:00Z"})
    options = QualityOptions(language_id=False, near_dup=False, paragraph_dedup=False)
    for order in ([old, latest, other], [other, latest, old]):
        kept, rejects, _ = run(quality.QualityStage(options, exchange(tmp_path / str(id(order)))), order, tmp_path / str(id(order)), options)
        assert sorted((d.doc_id, d.fetch_time) for d in kept) == sorted(
            [(old.doc_id, latest.fetch_time), (other.doc_id, other.fetch_time)])
        assert reasons(rejects) == {old.doc_id: "url_dedup/url_duplicate"}


def test_domain_paragraph_dedup(tmp_path: Path) -> None:
    footer = "Subscribe to our newsletter for weekly recipes."
    site = [
        make_doc(f"https://www.food.example/r{i}", [f"Recipe {i}: {words(i, 30)}", footer]) for i in range(3)
    ]
    only_footer = make_doc(
        "https://food.example/empty", ["  Subscribe to our   newsletter for weekly recipes. ".upper()]
    )
    elsewhere = make_doc("https://other.example/r", ["Another site", footer])
    docs = [*site, only_footer, elsewhere]
    pairs, _, _ = keyed(docs)
    decided, rejects, _ = run(quality.DomainParagraphDedup(min_docs=3), [k for _, k in pairs], tmp_path)
    assert not rejects
    strips = {k.doc_id: k.strip for k in decided}
    assert strips[elsewhere.doc_id] == frozenset() and len(strips[only_footer.doc_id]) == 1
    # the document pass removes them: one left without text is dropped
    stage = LibraryStage(quality.PARAGRAPH_DEDUP, quality.strip_paragraphs, many=True)
    docs_by_id = {d.doc_id: d for d in docs}
    kept, rows, counters = run(stage, [(docs_by_id[k.doc_id], k.strip) for k in decided], tmp_path / "strip")
    by_id = {d.doc_id: d for d in kept}
    assert set(by_id) == {d.doc_id for d in [*site, elsewhere]}
    assert all(footer not in by_id[d.doc_id].text for d in site)
    assert footer in by_id[elsewhere.doc_id].text
    assert reasons(rows) == {only_footer.doc_id: "paragraph_dedup/no_text_left"}
    assert counters["paragraph_dedup/n_paragraphs_removed"] == 4


def test_domain_paragraph_dedup_decides_per_site_paragraph_across_partitions(tmp_path: Path) -> None:
    """Grouped per (site, paragraph) in 4 file partitions, the paragraphs found site-wide are those
    a per-paragraph count finds: many shared paragraphs (every partition), sites of 2–4 documents,
    a paragraph shared across sites only."""
    rng = random.Random(7)
    shared = [f"Shared block {i}: {words(1000 + i, 12)}" for i in range(40)]
    docs = []
    for s in range(5):
        for d in range(2 + s % 3):
            own = [f"Own {s}-{d}: {words(100 * s + d, 20)}"]
            docs.append(make_doc(f"https://s{s}.example/p{d}", own + rng.sample(shared, 15)))
    pairs, _, _ = keyed(docs)
    decided, rejects, _ = run(quality.DomainParagraphDedup(min_docs=3), [k for _, k in pairs], tmp_path)
    assert not rejects
    found: dict[tuple[str, bytes], set[str]] = {}
    for _, k in pairs:
        for key in quality.unpack_paragraphs(k.paragraphs):
            found.setdefault((k.site, key), set()).add(k.doc_id)
    expected = {k.doc_id: frozenset(key for (site, key), ids in found.items() if site == k.site and len(ids) >= 3
                                    and k.doc_id in ids) for _, k in pairs}
    strips = {k.doc_id: k.strip for k in decided}
    assert strips == expected
    assert sum(map(len, strips.values())) > 20


def test_language_allow_list(tmp_path: Path) -> None:
    docs = [
        make_doc(f"https://l.example/{lang}", [text] * 2)
        for lang, text in [("en", EN), ("fr", FR), ("de", DE)]
    ]
    kept, rejects, counters = run(LibraryStage(quality.LANGUAGE, quality.DetectLanguage(allow=["en", "fr"]), many=True), docs, tmp_path)
    assert sorted(d.language for d in kept) == ["en", "fr"]
    assert reasons(rejects) == {docs[2].doc_id: "language/not_allowed"}
    assert counters["language/n_de"] == counters["language/n_en"] == counters["language/n_fr"] == 1


CHINESE = ["北京市朝阳区建国路88号 电话：010-12345678 邮编：100022",  # the model alone says `wuu`
           "我哋今日去咗飲茶，好開心。",  # Cantonese: `yue`
           "今天天气很好，我们一起去公园散步吧。"]


def test_a_macrolanguages_varieties_count_for_it(tmp_path: Path) -> None:
    """Chinese that py3langid labels Wu or Cantonese is Chinese to `--languages zh`: main dropped
    the first two as `not_allowed` and reported `wuu`/`yue`."""
    docs = [make_doc(f"https://zh.example/{i}", [text]) for i, text in enumerate(CHINESE)]
    kept, rejects, counters = run(LibraryStage(quality.LANGUAGE, quality.DetectLanguage(allow=["zh"]), many=True),
                                  docs, tmp_path)
    assert not rejects and [d.language for d in kept] == ["zh"] * 3
    assert counters["language/n_zh"] == 3
    lang, score = detect_language(CHINESE[0])
    assert lang == "zh" and score > 0.9  # the varieties' probabilities are summed, not split
    with pytest.raises(ValueError, match="wuu"):
        QualityOptions(languages="zh,wuu")  # a variety is never returned, so it would keep nothing


def test_blocklist(tmp_path: Path) -> None:
    listing = tmp_path / "block.txt"
    listing.write_text("# opted-out sites\nblocked.example\nhttps://shop.example/private/  # one section\n")
    docs = [
        make_doc("https://news.blocked.example/a", ["x"]),
        make_doc("https://notblocked.example/a", ["x"]),
        make_doc("http://shop.example/private/item?id=1", ["x"]),
        make_doc("https://shop.example/public/item", ["x"]),
    ]
    kept, rejects, _ = run(LibraryStage(quality.OPTOUT, quality.BlockListCheck([str(listing)])), docs, tmp_path)
    assert sorted(d.url for d in kept) == ["https://notblocked.example/a", "https://shop.example/public/item"]
    assert reasons(rejects) == {docs[0].doc_id: "optout/blocked_domain", docs[2].doc_id: "optout/blocked_url"}


def test_prepass_filter_counts_saving(tmp_path: Path) -> None:
    good = (
        b"<html><head><script>var a = 1;</script></head><body><p>" + EN.encode() * 3 + b"</p></body></html>"
    )
    short = b"<html><body><p>Hello there</p><script>" + b"x " * 500 + b"</script></body></html>"
    noai = (
        b'<html><head><meta name="robots" content="noai, noimageai"></head><body>'
        + EN.encode() * 3
        + b"</body></html>"
    )
    records = [
        {"url": f"https://p.example/{i}", "html": page.decode()} for i, page in enumerate([good, short, noai])
    ]
    transform = quality.prepass_stage(PrepassConfig(), html_of=lambda r: r["html"].encode(), url_of=lambda r: r["url"])
    kept, rejects, counters = run(transform, records, tmp_path)
    assert [r["url"] for r in kept] == ["https://p.example/0"]
    assert reasons(rejects) == {
        "https://p.example/1": "prepass/too_few_words",
        "https://p.example/2": "prepass/noai",
    }
    assert counters["prepass/n_bytes_in"] == len(good) + len(short) + len(noai)
    assert counters["prepass/n_bytes_skipped"] == len(short) + len(noai)


def test_quality_stage_from_options(tmp_path: Path) -> None:
    listing = tmp_path / "block.txt"
    listing.write_text("spam.example\n")
    options = parse_quality(["--blocklist", str(listing), "--languages", "en", "--paragraph_min_docs", "2"])
    article = [words(s, 80) for s in range(3)]
    original = make_doc(
        "https://news.example/story", [*article, "Follow us"], fetch_time="2024-01-02T00:00:00Z"
    )
    recapture = make_doc(
        "https://news.example/story", [*article, "Follow us", "Updated"], fetch_time="2024-01-01T00:00:00Z"
    )
    mirror = make_doc("https://copy.example/story", ["Mirror banner", *article])
    second = make_doc("https://news.example/other", [words(9, 80), "Follow us"])
    spam = make_doc("https://spam.example/x", article)
    german = make_doc("https://de.example/x", [DE] * 3)
    kept, rejects, counters = run(
        quality.QualityStage(options, exchange(tmp_path)), [original, recapture, mirror, second, spam, german], tmp_path, options
    )

    expected_drops = {
        spam.doc_id: "optout/blocked_domain",
        german.doc_id: "language/not_allowed",
        recapture.doc_id: "url_dedup/url_duplicate",
        max(original.doc_id, mirror.doc_id): "near_dup/near_duplicate",
    }
    assert reasons(rejects) == expected_drops
    assert all(d.language == "en" for d in kept) and len(kept) == 2
    assert all("Follow us" not in d.text for d in kept if "news.example" in d.url)
    assert [name for name, _ in quality.QualityStage(options, exchange(tmp_path)).steps()] == [
        "UrlDedup",
        "NearDup",
        "ImageSetDedup",
        "ParagraphDedup",
    ]
    assert [s.name for s in quality.document_stages(options)] == [
        "optout", "language", "document_keys", "near_dup_keys", "image_set_dedup_keys", "paragraph_dedup_keys"]
    assert counters["language/n_en"] == 4


def parse_quality(argv: list[str]) -> QualityOptions:
    """`QualityOptions` from flags, through the generated parser the jobs use."""
    parser = argparse.ArgumentParser()
    add_options(parser, QualityOptions)
    return options_from_args(QualityOptions, parser.parse_args(argv))


def test_quality_stage_parts_switch_off() -> None:
    options = parse_quality(["--no_language_id", "--no_near_dup", "--no_paragraph_dedup"])
    assert [name for name, _ in quality.QualityStage(options, exchange(Path("unused"))).steps()] == [
        "UrlDedup", "ImageSetDedup"]
    assert parse_quality(["--blocklist", "a", "--blocklist", "b"]).blocklist == ("a", "b")
    with pytest.raises(ValueError):
        parse_quality(["--no_language_id", "--languages", "en"])


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://WWW.Example.com:443/a?b=2&a=1&utm_medium=x#top") == "example.com/a?a=1&b=2"
    assert normalize_url("http://example.com") == normalize_url("https://example.com/")
    assert normalize_url("http://example.com:8080/") == "example.com:8080/"


def test_blocklist_matching() -> None:
    blocklist = BlockList.from_lines(["Example.com", "other.org/private/", "# comment", ""])
    assert blocklist.match("https://deep.sub.example.com/x") == "blocked_domain"
    assert blocklist.match("https://notexample.com/x") is None
    assert blocklist.match("https://other.org/private/doc") == "blocked_url"
    assert blocklist.match("https://other.org/privateer") is None


def test_noai_signals() -> None:
    page = b"""<html><head><META NAME='Robots' CONTENT='noindex, NoAI'><meta name="tdm-reservation" content="1"></head>"""
    assert meta_directives(page) == {"noindex", "noai", "tdm_reserved"}
    assert meta_directives(b'<meta name="robots" content="otherbot: noai">') == set()
    assert meta_directives(b'<meta name="m3w-builder" content="noimageai">') == {"noimageai"}
    headers = [
        ("Content-Type", "image/jpeg"),
        ("X-Robots-Tag", "googlebot: noindex"),
        ("X-Robots-Tag", "m3w-builder: noimageai"),
    ]
    assert header_directives(headers) == {"noimageai"}
    assert image_drop_reason(headers) == "noimageai"
    assert image_drop_reason({"tdm-reservation": "1"}) == "tdm_reserved"
    assert image_drop_reason({"X-Robots-Tag": "max-snippet: 20, noindex"}) is None

    doc = make_doc("https://a.example/", ["text"], ["https://a.example/1.jpg"])
    assert apply_page_optout(doc, {"noimageai"}).media == []
    with pytest.raises(Rejected) as err:
        apply_page_optout(doc, {"noai"})
    assert err.value.reason == "noai"


def test_prepass_reasons() -> None:
    body = "<p>" + EN * 2 + "</p>"
    assert prepass_reason(f"<html><body>{body}</body></html>".encode()) is None
    assert prepass_reason(b"<html><body><p>tiny</p></body></html>") == "too_few_words"
    assert prepass_reason(f"<body>{body}</body>".encode(), headers={"X-Robots-Tag": "noai"}) == "noai"
    assert prepass_reason(f"<body>{body}</body>".encode(), PrepassConfig(min_images=1)) == "too_few_images"
    numbers = "<table>" + "<td>1,234.5</td><td>-67 %</td>" * 50 + "</table>"
    assert prepass_reason(numbers.encode()) == "low_alpha_ratio"
    chinese = "<p>" + "北京是中华人民共和国的首都，也是全国的政治和文化中心。" * 2 + "</p>"
    assert prepass_reason(chinese.encode("gbk"), charset="gbk") is None
    assert prepass_reason(f"<html><body>{body}</body></html>".encode("utf-16")) is None  # unreadable: kept


def test_prepass_on_real_pages(shared_data: Path) -> None:
    html_dir = shared_data / "html"
    page = html_dir / "recipe-scrapers" / "iowagirleats.com__iowagirleats.html"
    # the page carries <meta name="robots" content="noai, noimageai">
    assert prepass_reason(page.read_bytes()) == "noai"
    assert prepass_reason((html_dir / "newspaper4k" / "chinese_article.html").read_bytes()) is None


def test_detect_language() -> None:
    assert detect_language(EN)[0] == "en"
    assert detect_language(FR)[0] == "fr"
    assert detect_language(DE)[0] == "de"
    assert detect_language("12345 !!! ---") == ("und", 0.0)


def test_site_wide_hits_count_each_document_once_per_paragraph() -> None:
    """One (site, paragraph) group is site-wide at `min_docs` distinct documents: a capture of the
    same document sent twice counts once, ids in both forms (16 bytes, other strings) come back whole."""
    key = quality.site_paragraph_key("food.example", b"\x01" * 8)
    ref = quality.compact_id("ab" * 16)
    assert dict(quality.site_wide_hits((key, [ref, ref, "id-2"]), 3)) == {}
    assert dict(quality.site_wide_hits((key, [ref, ref, "id-2", "id-3"]), 3)) == {
        "ab" * 16: b"\x01" * 8, "id-2": b"\x01" * 8, "id-3": b"\x01" * 8}
    assert quality.site_paragraph_key("a.example", b"\x01" * 8) != key
