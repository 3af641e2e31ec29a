"""Language identification with `py3langid` (PyPI), fully offline.

`py3langid` is a maintained, numpy-only rewrite of langid.py: its naive-Bayes byte n-gram model
(140 labels, mostly ISO 639-1 codes) ships inside the wheel (`py3langid/data/model.npz.xz`), so it
needs no hub download, no compiler and no fastText binary. Scores are normalised probabilities.
"""

from __future__ import annotations

import threading

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNKNOWN = "und"
MAX_CHARS = 5000  # the head of a page decides; bounds cost on huge pages

_identifier: LanguageIdentifier | None = None
_lock = threading.Lock()


def _get() -> LanguageIdentifier:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def known_languages() -> frozenset[str]:
    """The labels the model can return: a `--languages` code outside them ("EN", "eng") would keep
    no page."""
    return frozenset(_get().nb_classes)


def detect_language(text: str) -> tuple[str, float]:
    """`(language code, probability)` of `text`; `("und", 0.0)` when it has no letters."""
    sample = text[:MAX_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return UNKNOWN, 0.0
    lang, score = _get().classify(sample)
    return lang, float(score)
