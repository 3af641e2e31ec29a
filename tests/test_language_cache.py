"""The language model's decompressed cache: a process after the first reads it instead of
decompressing the xz model (~0.7 CPU-s per worker), and identifies exactly as the model does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from m3w_builder.quality import language
from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["The committee published its annual report on the state of the river basin.",
         "Le comité a publié son rapport annuel sur l'état du bassin de la rivière.",
         "Der Ausschuss hat seinen Jahresbericht über den Zustand des Flussgebiets veröffentlicht.",
         "El comité publicó su informe anual sobre el estado de la cuenca del río.",
         "委員会は流域の状態に関する年次報告書を公表した。", "Комитет опубликовал свой ежегодный доклад."]


def _real_texts() -> list[str]:
    pages = sorted(shared_path("html").rglob("*.html"))[::25]
    return [p.read_bytes().decode("utf-8", "replace")[:3000] for p in pages]


def _in_fresh_process(code: str, cache_home: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def test_first_process_caches_the_model_and_identifies_as_the_model_does(tmp_path: Path) -> None:
    texts = TEXTS + _real_texts()
    path = language.cache_path(language.model_digest(), tmp_path / "m3w-builder")
    assert not path.exists()
    # a job's process: the first identification writes the cache under $XDG_CACHE_HOME/m3w-builder
    out = _in_fresh_process("from m3w_builder.quality.language import detect_language; "
                            "print(detect_language('Ein kurzer deutscher Satz über das Wetter.')[0])", tmp_path)
    assert out.strip() == "de"
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    cached, model = language.load_identifier(tmp_path / "m3w-builder"), \
        LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert cached.nb_classes == model.nb_classes and cached.tk_output == model.tk_output
    assert cached.tk_nextmove == model.tk_nextmove and cached.tk_row == model.tk_row
    assert np.array_equal(cached.nb_ptc, model.nb_ptc) and np.array_equal(cached.nb_pc, model.nb_pc)
    assert [cached.rank(t) for t in texts] == [model.rank(t) for t in texts]


def test_a_later_process_reads_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "m3w-builder"
    digest = language.model_digest()
    restricted = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    restricted.set_languages(["en", "fr"])  # a cache entry told apart from the model by what it returns
    language._write_cache(language.cache_path(digest, folder), restricted, digest)
    out = _in_fresh_process("from m3w_builder.quality.language import detect_language, known_languages; "
                            f"print(detect_language({TEXTS[2]!r})[0], sorted(known_languages()))", tmp_path)
    assert out.split(" ", 1)[0] in ("en", "fr") and out.split(" ", 1)[1].strip() == "['en', 'fr']"


def test_a_damaged_or_foreign_cache_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "m3w-builder"
    digest = language.model_digest()
    path = language.cache_path(digest, folder)
    language.load_identifier(folder)
    good = path.read_bytes()
    expected = [language._read_cache(path, digest).rank(t) for t in TEXTS]
    other = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    other.set_languages(["en", "fr"])
    for damage in (lambda: path.write_bytes(good[: len(good) // 2]),  # cut short
                   lambda: path.write_bytes(good[:5000] + bytes(100) + good[5100:]),  # bytes changed in a member
                   lambda: path.write_bytes(b"not a model"),
                   lambda: language._write_cache(path, other, "0" * 64)):  # another model's arrays
        damage()
        assert language.load_identifier(folder).classify(TEXTS[2])[0] == "de"
        assert [language._read_cache(path, digest).rank(t) for t in TEXTS] == expected  # replaced by the model's


def test_an_unwritable_cache_still_identifies(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    identifier = language.load_identifier(blocked / "m3w-builder")
    assert identifier.classify(TEXTS[1])[0] == "fr"
    assert blocked.read_text() == "a file where the cache folder would be"
