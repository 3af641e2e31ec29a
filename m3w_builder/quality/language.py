"""Language identification with `py3langid` (PyPI), fully offline.

`py3langid` is a maintained, numpy-only rewrite of langid.py: its naive-Bayes byte n-gram model
(140 labels, mostly ISO 639-1 codes) ships inside the wheel (`py3langid/data/model.npz.xz`), so it
needs no hub download, no compiler and no fastText binary. Scores are normalised probabilities.

Decompressing that model costs ~0.7 CPU-s, paid by every process that identifies a language (each
worker of every run). So the first process on a machine keeps the decompressed model in the user
cache (`m3w_builder.cache`, keyed by the model's sha256 and py3langid's version, plain arrays read
with `allow_pickle=False`) and later ones read it (~0.1 CPU-s); a cache that cannot be read or
written only means decompressing, as without it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from array import array
from pathlib import Path

import numpy as np
import py3langid
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from m3w_builder.cache import user_cache_dir

UNKNOWN = "und"
# Varieties the model tells apart inside an ISO 639 macrolanguage whose own code it also returns:
# their probabilities count for the macrolanguage. Plain Chinese comes out `wuu` (Wu) or `yue`
# (Cantonese) about as often as `zh` (a Beijing street address is `wuu` at 0.59), so `--languages
# zh` dropped Chinese pages as `not_allowed` and a Chinese page's score was split three ways.
MACROLANGUAGE = {"wuu": "zh", "yue": "zh", "ary": "ar", "arz": "ar", "uzs": "uz", "sdh": "ku", "ltg": "lv"}
MAX_CHARS = 5000  # the head of a page decides; bounds cost on huge pages
CACHE_FORMAT = 1  # the arrays `_write_cache` stores; a new layout gets a new file name

_identifier: LanguageIdentifier | None = None
_lock = threading.Lock()
_log = logging.getLogger(__name__)


def model_digest() -> str:
    """sha256 of the installed model file (4.5 MB: ~10 ms)."""
    return hashlib.sha256((MODEL_DIR / MODEL_FILE).read_bytes()).hexdigest()


def cache_path(digest: str, cache_dir: Path | None = None) -> Path:
    """The cache file of a model: a changed model or py3langid gets a file of its own."""
    folder = user_cache_dir() if cache_dir is None else cache_dir
    return folder / f"py3langid-{py3langid.__version__}-{digest[:16]}-v{CACHE_FORMAT}.npz"


def _read_cache(path: Path, digest: str) -> LanguageIdentifier:
    with np.load(path, allow_pickle=False) as data:  # zip CRCs catch a damaged member
        if str(data["model"]) != digest:
            raise ValueError("written for another model")
        return LanguageIdentifier(data["ptc"], data["pc"], data["classes"].tolist(), _stdlib(data["nextmove"]),
                                  data["output"].tolist(), norm_probs=True, tk_row=_stdlib(data["row"]))


def _stdlib(values: np.ndarray) -> array:
    """The DFA tables as py3langid walks them: stdlib arrays (indexing a numpy array per byte is slow)."""
    out = array(values.dtype.char)
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out


def _write_cache(path: Path, identifier: LanguageIdentifier, digest: str) -> None:
    """Write the model's arrays under a temporary name, then rename: a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, model=np.array(digest), ptc=identifier.nb_ptc, pc=identifier.nb_pc,
                     classes=np.array(identifier.nb_classes),
                     nextmove=np.frombuffer(identifier.tk_nextmove, dtype=identifier.tk_nextmove.typecode),
                     row=np.frombuffer(identifier.tk_row, dtype=identifier.tk_row.typecode),
                     output=np.array(identifier.tk_output, dtype=np.int32))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_identifier(cache_dir: Path | None = None) -> LanguageIdentifier:
    """py3langid's identifier (normalised probabilities) from the cache, or decompressed from its
    model and then cached."""
    digest = model_digest()
    try:
        path = cache_path(digest, cache_dir)
    except RuntimeError as error:  # no home folder to find the user cache in
        _log.warning("language model cache not used: %s", error)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    try:
        return _read_cache(path, digest)
    except FileNotFoundError:
        pass
    except Exception as error:  # noqa: BLE001 - damaged or foreign: a cache never decides, the model does
        _log.warning("language model cache %s unreadable (%s); rebuilding it", path, error)
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    try:
        _write_cache(path, identifier, digest)
    # read-only, full, or a py3langid whose fields moved: the next process decompresses again
    except Exception as error:  # noqa: BLE001
        _log.warning("language model cache %s not written: %s", path, error)
    return identifier


def _get() -> LanguageIdentifier:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                _identifier = load_identifier()
    return _identifier


def known_languages() -> frozenset[str]:
    """The labels `detect_language` can return: a `--languages` code outside them ("EN", "eng",
    "wuu") would keep no page."""
    return frozenset(_get().nb_classes) - MACROLANGUAGE.keys()


def detect_language(text: str) -> tuple[str, float]:
    """`(language code, probability)` of `text`; `("und", 0.0)` when it has no letters."""
    sample = text[:MAX_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return UNKNOWN, 0.0
    scores: dict[str, float] = {}
    for lang, score in _get().rank(sample):
        code = MACROLANGUAGE.get(lang, lang)
        scores[code] = scores.get(code, 0.0) + score
    lang = max(scores, key=scores.__getitem__)
    return lang, float(scores[lang])
