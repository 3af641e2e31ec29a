"""Marker text, tokenizer and window rules (DESIGN §3)."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from m3w_builder.document import Document, ImageNode, TextNode, VideoNode
from m3w_builder.drops import Rejected
from m3w_builder.quality.filters import FilterOptions, filter_document
from m3w_builder.samples.markers import neutralise, render_segments, render_text
from m3w_builder.samples.tokenizer import (
    Tokenizer,
    TrainOptions,
    smallest_within,
    train_tokenizer,
)
from m3w_builder.samples.windows import WindowOptions, make_windows

WORDS = ["the", "red", "circle", "sits", "on", "a", "blue", "background", "while", "green", "squares", "move", "slowly", "across", "pictures"]


def doc(*nodes) -> Document:
    return Document(doc_id="d1", url="http://h.test/", nodes=list(nodes))


def test_marker_text_rules():
    img = ImageNode("http://h.test/a.jpg")
    assert render_text(doc(TextNode("A"), img, TextNode("B"), img, TextNode("C"))) == (
        "A<EOC><image>B<EOC><image>C<EOC>"
    )
    assert render_text(doc(img, TextNode("B"))) == "<image>B<EOC>"  # no empty chunk at the start
    assert render_text(doc(TextNode("A"), img, img)) == "A<EOC><image><EOC><image><EOC>"
    assert render_text(doc(TextNode("A"), VideoNode("http://h.test/v.mp4"))) == "A<EOC><image><EOC>"


def test_pages_cannot_forge_markers():
    assert "<image>" not in neutralise("look <image> and <EOC> and < IMAGE > and <eoc>")
    text = render_text(doc(TextNode("fake <image> here <EOC>"), ImageNode("http://h.test/a.jpg")))
    assert text.count("<image>") == 1 and text.count("<EOC>") == 2


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(300)]
    return Tokenizer(train_tokenizer(texts, TrainOptions(vocab_size=300)))


def test_tokenizer_is_deterministic_and_markers_are_single_tokens(tokenizer):
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(300)]
    assert train_tokenizer(texts, TrainOptions(vocab_size=300)) == tokenizer.model_bytes
    ids, media = tokenizer.encode_segments(render_segments(doc(TextNode("red circle"), ImageNode("x"), TextNode("blue"))))
    assert ids.count(tokenizer.image_id) == 1 and ids.count(tokenizer.eoc_id) == 2 and media == [0]
    forged = render_segments(doc(TextNode("red <image> <EOC> circle"), ImageNode("x")))
    ids, _ = tokenizer.encode_segments(forged)
    assert ids.count(tokenizer.image_id) == 1


def _long_doc(n_images: int, words_between: int) -> Document:
    rng = random.Random(n_images)
    nodes = []
    for i in range(n_images):
        nodes.append(TextNode(" ".join(rng.choice(WORDS) for _ in range(words_between))))
        nodes.append(ImageNode(f"http://h.test/{i}.jpg"))
    nodes.append(TextNode("the end"))
    return doc(*nodes)


def test_tokenizer_sample_is_the_smallest_keys_within_the_character_budget():
    rng = random.Random(3)
    items = [(rng.randrange(10**9), "x" * rng.randrange(1, 400)) for _ in range(2000)]
    budget = 5000
    sample = smallest_within(iter(items), budget)
    assert sum(map(len, sample)) == budget  # the text that crosses the budget is cut to fit
    expected, used = [], 0
    for _, text in sorted(items):  # the same texts a sort by key gives, in key order
        if used >= budget:
            break
        expected.append(text[: budget - used])
        used += len(expected[-1])
    assert sample == expected
    assert smallest_within(iter(items[:3]), 10**6) == [t for _, t in sorted(items[:3])]  # under budget: all
    assert smallest_within(iter([(1, "a" * 50)]), 10) == ["a" * 10]  # one long text still trains
    assert smallest_within(iter([]), 10) == []


@pytest.mark.parametrize("mode,align", [("random", "any"), ("random", "chunk"), ("tile", "any")])
def test_windows_hold_at_most_L_tokens_and_N_images_with_exact_media(tokenizer, mode, align):
    d = _long_doc(12, 30)
    ids, media = tokenizer.encode_segments(render_segments(d))
    opts = WindowOptions(max_tokens=64, max_images=2, mode=mode, per_doc=3, align=align)
    windows = make_windows(ids, media, image_id=tokenizer.image_id, eoc_id=tokenizer.eoc_id, doc_id="d1", seed=7, opts=opts)
    assert windows
    for w in windows:
        assert len(w.input_ids) <= 64
        assert w.input_ids.count(tokenizer.image_id) == len(w.media) <= 2
        # the kept media are the first images at or after the window start, in order
        first = sum(1 for t in ids[: w.token_start] if t == tokenizer.image_id)
        assert w.media == list(range(first, first + len(w.media)))
        if align == "chunk":
            assert w.token_start == 0 or ids[w.token_start - 1] == tokenizer.eoc_id
    again = make_windows(ids, media, image_id=tokenizer.image_id, eoc_id=tokenizer.eoc_id, doc_id="d1", seed=7, opts=opts)
    assert again == windows
    if mode == "tile":
        assert windows[0].token_start == 0 and windows[-1].token_end == len(ids)
        assert all(a.token_end == b.token_start for a, b in itertools.pairwise(windows))


def test_window_seed_changes_random_starts(tokenizer):
    ids, media = tokenizer.encode_segments(render_segments(_long_doc(12, 30)))
    opts = WindowOptions(max_tokens=32, per_doc=1, mode="random")
    starts = {make_windows(ids, media, image_id=tokenizer.image_id, eoc_id=tokenizer.eoc_id, doc_id="d1",
                           seed=s, opts=opts)[0].token_start for s in range(10)}
    assert len(starts) > 1


def test_filter_rules_report_exact_reasons():
    text = " ".join(WORDS * 5)
    ok = doc(TextNode(text), TextNode("We use cookies to improve your experience."), TextNode(text),
             TextNode("#### *** ### ---"))
    result = filter_document(ok)
    assert dict(result.paragraph_drops) == {"boilerplate_phrase": 1, "repeated_paragraph": 1, "special_characters": 1}
    assert [n.text for n in result.document.nodes] == [text]
    with pytest.raises(Rejected) as err:
        filter_document(doc(TextNode("too short")))
    assert err.value.reason == "too_few_words"
    with pytest.raises(Rejected) as err:
        filter_document(doc(TextNode(" ".join(["#tag"] * 60))), FilterOptions(max_paragraph_special_ratio=None))
    assert err.value.reason == "symbol_ratio"
    japanese = "今日は晴れです。東京の公園で桜を見ました。とてもきれいでした。" * 3
    assert filter_document(doc(TextNode(japanese))).document.nodes


def _windows_as_counted_before(ids, media, image_id, start, opts):
    """The window at `start` read with its images counted from the document's start (main's way)."""
    media_before = sum(1 for t in ids[:start] if t == image_id)
    out, kept, pos = [], [], start
    while pos < len(ids) and len(out) < opts.max_tokens:
        if ids[pos] == image_id:
            if len(kept) < opts.max_images:
                out.append(ids[pos])
                kept.append(media[media_before])
            media_before += 1
        else:
            out.append(ids[pos])
        pos += 1
    return out, kept, pos


@pytest.mark.parametrize("mode", ["tile", "random"])
def test_windows_of_a_document_of_a_million_tokens_cost_linear_time(mode):
    image_id, eoc_id = 1, 2
    rng = random.Random(3)
    ids = [rng.choice((image_id, eoc_id, *range(5, 40))) if rng.random() < 0.01 else 7 for _ in range(1_000_000)]
    media = list(range(ids.count(image_id)))
    opts = WindowOptions(mode=mode, per_doc=50)
    start = time.process_time()
    windows = make_windows(ids, media, image_id=image_id, eoc_id=eoc_id, doc_id="d1", seed=7, opts=opts)
    assert time.process_time() - start < 3.0  # main: 21 CPU-s tiled (each window counted the images before it)
    assert len(windows) == (3907 if mode == "tile" else 50)
    for w in windows[::97]:
        assert (w.input_ids, w.media, w.token_end) == _windows_as_counted_before(ids, media, image_id, w.token_start, opts)
