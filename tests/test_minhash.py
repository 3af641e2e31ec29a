"""MinHash signatures, LSH band keys and Jaccard estimates."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from m3w_builder.quality import minhash
from m3w_builder.quality.minhash import (
    MinHashParams,
    band_keys,
    jaccard,
    normalize_words,
    signature,
)


def tokens(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [f"w{rng.randrange(3000)}" for _ in range(n)]


def exact_jaccard(a: list[str], b: list[str], n: int = 5) -> float:
    sa = {tuple(a[i : i + n]) for i in range(len(a) - n + 1)}
    sb = {tuple(b[i : i + n]) for i in range(len(b) - n + 1)}
    return len(sa & sb) / len(sa | sb)


def test_signature_is_deterministic_across_processes() -> None:
    text = " ".join(tokens(1, 300))
    code = (
        "import sys; from m3w_builder.quality.minhash import signature; print(signature(sys.argv[1]).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", code, text], capture_output=True, text=True, env=env, check=True
    )
    assert other.stdout.strip() == signature(text).tobytes().hex()
    assert signature(text).dtype == np.uint32 and signature(text).shape == (128,)


def test_normalisation_ignores_case_punctuation_and_spacing() -> None:
    assert normalize_words("Hello,  WORLD! ﬁne") == ["hello", "world", "fine"]
    a = signature("The quick brown fox jumps over the lazy dog again and again")
    b = signature("the QUICK brown fox -- jumps over   the lazy dog; again and again.")
    assert np.array_equal(a, b)


@pytest.mark.parametrize("changed", [0, 20, 60, 150, 300])
def test_jaccard_estimate_tracks_exact_jaccard(changed: int) -> None:
    a = tokens(7, 600)
    b = a[: 600 - changed] + tokens(8, changed)
    estimate = jaccard(signature(" ".join(a)), signature(" ".join(b)))
    assert abs(estimate - exact_jaccard(a, b)) < 0.15


def test_empty_and_short_texts() -> None:
    empty = signature("  ... ")
    assert minhash.is_empty(empty) and band_keys(empty) == []
    assert jaccard(empty, empty) == 0.0
    assert np.array_equal(signature("two words"), signature("Two, words"))  # one shingle of all words
    assert jaccard(signature("two words"), signature("two birds")) < 0.1


def test_band_keys_collide_for_near_duplicates_only() -> None:
    base = tokens(3, 500)
    near = base[:480] + tokens(4, 20)
    other = tokens(5, 500)
    keys = band_keys(signature(" ".join(base)))
    assert len(keys) == 16 and len(set(keys)) == 16 and all(len(k) == 9 for k in keys)
    assert keys == band_keys(signature(" ".join(base)))
    assert set(keys) & set(band_keys(signature(" ".join(near))))
    assert not set(keys) & set(band_keys(signature(" ".join(other))))


def test_boilerplate_only_differences_are_duplicates_content_differences_are_not() -> None:
    content = " ".join(tokens(11, 400))
    page_a = f"Home | News | Sport | Contact {content} Copyright 2023 Example Ltd. All rights reserved."
    page_b = f"Menu Subscribe Sign in {content} Share on social media, updated 5 May 2024"
    page_c = f"Home | News | Sport | Contact {' '.join(tokens(12, 400))} Copyright 2023 Example Ltd. All rights reserved."
    assert jaccard(signature(page_a), signature(page_b)) >= 0.8
    assert jaccard(signature(page_a), signature(page_c)) < 0.2


def test_params_are_configurable_and_validated() -> None:
    params = MinHashParams(ngram=3, num_perm=64, bands=8, rows=8, seed=7)
    sig = signature("a b c d e f g h", params)
    assert sig.shape == (64,) and len(band_keys(sig, params)) == 8
    assert not np.array_equal(
        sig, signature("a b c d e f g h", MinHashParams(ngram=3, num_perm=64, bands=8, rows=8, seed=8))
    )
    with pytest.raises(ValueError):
        MinHashParams(num_perm=128, bands=10, rows=8)


@pytest.mark.parametrize("name", ["chinese_article", "chinese_article_001"])
def test_a_lightly_edited_chinese_article_is_a_near_duplicate(name: str) -> None:
    """Chinese has no spaces: shingles of characters, not of whole clauses, so one changed
    character every 100 leaves the copy near the original (with clause-long words it was far)."""
    from tests.conftest import shared_path

    text = shared_path("html", "newspaper4k", f"{name}.expected.txt").read_text(encoding="utf-8")
    chars = list(text)
    edited = [i for i in range(40, len(chars), 100) if "\u4e00" <= chars[i] <= "\u9fff"]
    for i in edited:
        chars[i] = "的" if chars[i] != "的" else "是"
    a, b = signature(text), signature("".join(chars))
    assert len(edited) >= 6 and jaccard(a, b) >= 0.8
    assert set(band_keys(a)) & set(band_keys(b))
