"""Options of the document-level quality steps (each switchable) and of the text-only pre-pass."""

from __future__ import annotations

from dataclasses import dataclass

from m3w_builder.options import option
from m3w_builder.quality.language import known_languages
from m3w_builder.quality.minhash import MinHashParams
from m3w_builder.quality.prepass import PrepassConfig


@dataclass(frozen=True)
class QualityOptions:
    """Block lists, language id, URL / near-duplicate / image-set dedup, per-site paragraphs, pre-pass."""

    blocklist: tuple[str, ...] = option((), "block-list file (domains, URL prefixes)")
    languages: str = option("", "comma-separated language allow-list (empty: all)")
    min_language_score: float = option(0.0, "minimum language-id probability", high=1)
    language_id: bool = option(True, "skip language identification", flag="no_language_id")
    url_dedup: bool = option(True, "skip URL dedup", flag="no_url_dedup")
    near_dup: bool = option(True, "skip MinHash near-duplicate removal", flag="no_near_dup")
    near_dup_threshold: float = option(0.8, "signature Jaccard at which two documents are duplicates", high=1)
    minhash_num_perm: int = option(128, "MinHash permutations", low=1)
    minhash_bands: int = option(16, "LSH bands (must divide --minhash_num_perm)", low=1)
    minhash_ngram: int = option(5, "word shingle size", low=1)
    image_set_dedup: bool = option(True, "skip image-set dedup", flag="no_image_set_dedup")
    image_set_min_images: int = option(2, "media URLs a document needs to take part in image-set dedup")
    paragraph_dedup: bool = option(True, "skip per-domain paragraph dedup", flag="no_paragraph_dedup")
    paragraph_min_docs: int = option(3, "documents of one site a paragraph must appear in to be removed")
    prepass: bool = option(False, "run the text-only pre-pass before DOM extraction")
    prepass_min_words: int = option(20, "pre-pass: minimum visible words")
    prepass_min_images: int = option(0, "pre-pass: minimum <img>/<video> tags")
    prepass_min_alpha_ratio: float = option(0.5, "pre-pass: minimum share of letters in the visible text", high=1)

    def __post_init__(self) -> None:
        if self.languages and not self.language_id:
            raise ValueError("--languages needs language identification (drop --no_language_id)")
        if self.languages:
            known = known_languages()
            unknown = [lang for lang in self.language_list if lang not in known]
            if unknown:
                raise ValueError(f"--languages {','.join(unknown)}: not a language code the identifier returns "
                                 "(py3langid's lower-case ISO 639-1 codes, e.g. en,de,fr)")
        if self.minhash_bands <= 0 or self.minhash_num_perm % self.minhash_bands:
            raise ValueError("--minhash_bands must divide --minhash_num_perm")

    @property
    def language_list(self) -> list[str]:
        return [lang.strip() for lang in self.languages.split(",") if lang.strip()]

    def minhash_params(self) -> MinHashParams:
        perm, bands = self.minhash_num_perm, self.minhash_bands
        return MinHashParams(ngram=self.minhash_ngram, num_perm=perm, bands=bands, rows=perm // bands)

    def prepass_config(self) -> PrepassConfig:
        return PrepassConfig(min_words=self.prepass_min_words, min_images=self.prepass_min_images,
                             min_alpha_ratio=self.prepass_min_alpha_ratio)
