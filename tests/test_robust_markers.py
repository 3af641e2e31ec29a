"""Marker look-alikes: nothing a page, alt text, caption or title holds may become a marker id."""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest
import sentencepiece as spm

from m3w_builder.document import Document, ImageNode, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.media.images import ProcessedImage
from m3w_builder.media.process import MediaResult
from m3w_builder.pairs.items import make_item
from m3w_builder.samples.assemble import build_samples
from m3w_builder.samples.markers import Segment, fold, neutralise
from m3w_builder.samples.tokenizer import Tokenizer, TrainOptions, train_tokenizer
from m3w_builder.samples.windows import WindowOptions

LOOK_ALIKES = [
    "\uff1cimage\uff1e", "\uff1cEOC\uff1e", "\ufe64image\ufe65", "<\uff49\uff4d\uff41\uff47\uff45>",
    "\u2039EO\u216d>", "<EO\u216d>", "<ima\x01ge>", "<\x7fEOC>", "<image\x9f>", "\ufe64\uff25\uff2f\uff23\ufe65",
    "< image >", "<IMAGE>", "<image>", "<EOC>",
]
MARKER = re.compile(r"<\s*(image|eoc)\s*>", re.IGNORECASE)
WORDS = "the red circle sits on a blue background while green squares move slowly".split()


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(30)) for _ in range(200)]
    return Tokenizer(train_tokenizer(texts, TrainOptions(vocab_size=300)))


def test_fold_matches_sentencepiece_normaliser_on_every_changed_code_point():
    """Every code point that NFKC or the nmt_nfkc rules change, between the letters of a marker."""
    normaliser = spm.SentencePieceNormalizer(rule_name="nmt_nfkc")
    checked = 0
    for cp in range(1, 0x30000):
        c = chr(cp)
        if unicodedata.category(c) == "Cs":
            continue
        if unicodedata.normalize("NFKC", c) == c and unicodedata.category(c)[0] not in "CZ":
            continue
        text = f"<ima{c}ge>"
        if normaliser.normalize(text).lstrip("\u2581") == "<image>":  # sentencepiece would make a marker
            assert MARKER.search(fold(text)), hex(cp)
        checked += 1
    assert checked > 5000


@pytest.mark.parametrize("forged", LOOK_ALIKES)
def test_look_alikes_never_encode_to_a_marker(tokenizer, forged):
    text = f"red {forged} circle"
    safe = neutralise(text)
    assert not MARKER.search(fold(safe))
    ids = tokenizer.sp.encode(safe)
    assert tokenizer.image_id not in ids and tokenizer.eoc_id not in ids


def test_plain_text_is_returned_unchanged():
    for text in ("plain words", "a < b > c", "ｆｕｌｌｗｉｄｔｈ but no marker", "1 ＜ 2"):
        assert neutralise(text) == text


def test_document_with_look_alikes_everywhere_builds_clean_samples(tokenizer):
    forged = " ".join(LOOK_ALIKES)
    image = ProcessedImage(b"\xff\xd8jpeg", 256, 256, 300, 300, "PNG", "ab" * 32, "0" * 16)
    doc = Document("d1", "http://h.test/", [TextNode(f"red {forged} circle"),
                                              ImageNode("http://h.test/a.png", alt=forged, caption=forged),
                                              TextNode(f"blue {forged}")], title=forged)
    media = [MediaResult("http://h.test/a.png", "image", image=image, sha256=image.sha256)]
    samples, _ = build_samples(doc, media, tokenizer, WindowOptions(max_tokens=4096), 0)
    assert len(samples) == 1
    record = json.loads(dict(samples[0].members)["json"])
    assert record["input_ids"].count(tokenizer.image_id) == 1
    assert record["input_ids"].count(tokenizer.eoc_id) == 2
    for value in (record["title"], record["images"][0]["alt"], record["images"][0]["caption"]):
        assert not MARKER.search(fold(value))
    assert len(MARKER.findall(fold(record["text"]))) == 3  # the structural <EOC><image>…<EOC> only


def test_pair_captions_are_neutralised():
    item = make_item("http://h.test/a.jpg", "a cat \uff1cEOC\uff1e sitting", "image", "list#0")
    assert not MARKER.search(fold(item.caption))


def test_a_chunk_that_still_encodes_to_a_marker_is_a_clean_rejection(tokenizer):
    with pytest.raises(Rejected) as err:
        tokenizer.encode_segments([Segment("text", "red <image> circle")])
    assert err.value.reason == "forged_marker"
