"""MinHash signatures over word 5-gram shingles, LSH band keys and Jaccard estimates.

Words are the filters' words (`filters.words`): `\\w+` runs, but each Chinese/Japanese character
and each Thai/Lao/Myanmar/Khmer cluster a word of its own. Scripts written without spaces would
otherwise make a whole sentence one "word", so a one-character edit changed every shingle of it and
near-duplicate CJK pages were never found.

A small vectorised numpy implementation rather than `datasketch`: the signature of a whole
document is a handful of array operations (no Python loop over shingles or permutations), the
result is a plain `uint32` array that pickles compactly through Beam shuffles, and it adds no
dependency. Everything is seeded and uses no Python `hash()`, so every worker and every rerun
computes the same signatures and band keys.

Permutations are multiply-shift hashes `h_i(x) = (a_i * x + b_i) mod 2**64 >> 32` (odd `a_i`)
applied to a 64-bit hash of each shingle; the signature keeps the minimum per permutation.

LSH: with `bands` × `rows` = `num_perm`, two documents of Jaccard similarity `j` share at least one
band key with probability `1 - (1 - j**rows)**bands`. The defaults 16 × 8 put the curve's midpoint
`(1/bands)**(1/rows)` near 0.71, so pairs at the default verification threshold 0.8 become
candidates with probability ≥ 0.95, and the exact signature check then removes the false ones.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

from m3w_builder.quality.filters import words

_ASCII_WORD = re.compile(r"\w+")
_EMPTY = np.uint32(0xFFFFFFFF)
_FNV_PRIME = np.uint64(0x100000001B3)
_CHUNK = 4096  # shingles per block: bounds memory at num_perm × _CHUNK × 8 bytes


@dataclass(frozen=True)
class MinHashParams:
    """Shingle size, permutation count and LSH banding (`bands * rows == num_perm`)."""

    ngram: int = 5
    num_perm: int = 128
    bands: int = 16
    rows: int = 8
    seed: int = 1

    def __post_init__(self) -> None:
        if self.bands * self.rows != self.num_perm:
            raise ValueError(f"bands*rows ({self.bands}*{self.rows}) must equal num_perm ({self.num_perm})")
        if self.ngram < 1 or not 1 <= self.bands <= 256:
            raise ValueError("ngram must be >= 1 and bands in 1..256")


def normalize_words(text: str) -> list[str]:
    """Words of `text` after NFKC, case folding and punctuation removal."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return words(unicodedata.normalize("NFKC", text).casefold())


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Bijective 64-bit mixer (wrapping uint64 arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(words: list[str], ngram: int) -> np.ndarray:
    """64-bit hashes of the word `ngram`-grams (one shingle of all words if fewer than `ngram`)."""
    if not words:
        return np.empty(0, dtype=np.uint64)
    ids = np.array([zlib.crc32(w.encode("utf-8", "surrogatepass")) for w in words], dtype=np.uint64)
    width = min(ngram, len(ids))
    count = len(ids) - width + 1
    acc = ids[:count].copy()
    with np.errstate(over="ignore"):
        for k in range(1, width):
            acc *= _FNV_PRIME
            acc ^= ids[k : k + count]
        return _splitmix64(acc)


def _permutations(params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(params.seed))
    a = rng.integers(1, 2**63, size=params.num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=params.num_perm, dtype=np.uint64)
    return a[:, None], b[:, None]


_PERM_CACHE: dict[MinHashParams, tuple[np.ndarray, np.ndarray]] = {}


def signature(text: str, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """MinHash signature (`uint32[num_perm]`) of `text`; all 0xFFFFFFFF when it has no words."""
    perms = _PERM_CACHE.get(params)
    if perms is None:
        perms = _PERM_CACHE.setdefault(params, _permutations(params))
    a, b = perms
    hashes = shingle_hashes(normalize_words(text), params.ngram)
    sig = np.full(params.num_perm, _EMPTY, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for start in range(0, len(hashes), _CHUNK):
            block = np.multiply(a, hashes[None, start : start + _CHUNK])
            block += b
            # the shift is monotonic, so it can follow the minimum
            np.minimum(sig, (block.min(axis=1) >> np.uint64(32)).astype(np.uint32), out=sig)
    return sig


def is_empty(sig: np.ndarray) -> bool:
    """True for the signature of a text without words (it never matches anything)."""
    return bool((sig == _EMPTY).all())


def band_keys(sig: np.ndarray, params: MinHashParams = MinHashParams()) -> list[bytes]:
    """One 9-byte key per band (band index + 8-byte digest of its rows); none for empty texts."""
    if is_empty(sig):
        return []
    rows = sig.reshape(params.bands, params.rows)
    return [
        bytes([band]) + hashlib.blake2b(rows[band].tobytes(), digest_size=8).digest()
        for band in range(params.bands)
    ]


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the fraction of equal signature slots (0 for empty texts)."""
    if is_empty(sig_a) or is_empty(sig_b):
        return 0.0
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
