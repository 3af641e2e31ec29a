"""Sentencepiece tokenizer with `<image>` and `<EOC>` as single user-defined tokens.

Text chunks are encoded one by one and marker ids are inserted between them, so marker ids come
only from the document structure; page text is neutralised first (`markers.neutralise`), and
`encode_segments` checks that no text chunk produced a marker id (a model whose normaliser folds
more than NFKC could still forge one): such a document is `Rejected("forged_marker")`, never a
failed job.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterable
from dataclasses import dataclass

import sentencepiece as spm

from m3w_builder.drops import Rejected
from m3w_builder.options import option
from m3w_builder.samples.markers import EOC_TOKEN, IMAGE_TOKEN, Segment


@dataclass(frozen=True)
class TrainOptions:
    """Options of the in-job tokenizer training (deterministic: one thread, no shuffling)."""

    vocab_size: int = option(8192, "vocabulary of the tokenizer trained in the job", low=1024)
    model_type: str = "unigram"
    character_coverage: float = 0.9995
    max_sentences: int = 200_000


def smallest_within(texts: Iterable[tuple[int, str]], max_chars: int) -> list[str]:
    """The texts of the smallest keys (in key order) up to `max_chars` characters in all, the one
    that crosses the budget cut to fit: what a tokenizer trains on. sentencepiece takes ~25× its
    text in memory, so a character budget, not a document count, is what keeps it the same at any
    corpus size. Streams: it holds about `max_chars` characters whatever it is given."""
    heap: list[tuple[int, str]] = []  # (-key, text): the largest key on top, dropped once not needed
    total = 0
    for key, text in texts:
        heapq.heappush(heap, (-key, text))
        total += len(text)
        while total - len(heap[0][1]) >= max_chars:
            total -= len(heapq.heappop(heap)[1])
    out, used = [], 0
    for _, text in sorted(heap, reverse=True):
        text = text[: max_chars - used]
        if text:
            out.append(text)
            used += len(text)
    return out


def train_tokenizer(texts: Iterable[str], options: TrainOptions = TrainOptions()) -> bytes:
    """Train a sentencepiece model on `texts` (in the given order) and return the model bytes."""
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no text to train a tokenizer on")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines[: options.max_sentences]),
        model_writer=model,
        vocab_size=options.vocab_size,
        hard_vocab_limit=False,
        model_type=options.model_type,
        character_coverage=options.character_coverage,
        user_defined_symbols=[IMAGE_TOKEN, EOC_TOKEN],
        byte_fallback=True,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=options.max_sentences,
        max_sentence_length=16384,
        minloglevel=2,
    )
    return model.getvalue()


class Tokenizer:
    """A loaded sentencepiece model plus the ids of the two marker tokens."""

    def __init__(self, model_bytes: bytes) -> None:
        """A `ValueError` for bytes that are no sentencepiece model (an empty proto loads as a model
        that encodes nothing) or one without the marker symbols."""
        self.model_bytes = model_bytes
        if not model_bytes:
            raise ValueError("empty file: not a sentencepiece model")
        try:
            self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        except RuntimeError:  # sentencepiece's C++ status, e.g. a protobuf that does not parse
            raise ValueError("not a sentencepiece model (its protobuf does not parse)") from None
        self.image_id = self.sp.piece_to_id(IMAGE_TOKEN)
        self.eoc_id = self.sp.piece_to_id(EOC_TOKEN)
        if self.image_id == self.sp.unk_id() or self.eoc_id == self.sp.unk_id():
            raise ValueError("tokenizer lacks <image>/<EOC> user-defined symbols")

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode_segments(self, segments: list[Segment]) -> tuple[list[int], list[int]]:
        """Token ids of rendered segments, and the media index of each `<image>` id in order."""
        ids: list[int] = []
        media: list[int] = []
        for seg in segments:
            if seg.kind == "text":
                piece_ids = self.sp.encode(seg.text)
                if self.image_id in piece_ids or self.eoc_id in piece_ids:
                    raise Rejected("forged_marker", f"text chunk encodes to a marker id: {seg.text[:80]!r}")
                ids.extend(piece_ids)
            elif seg.kind == "media":
                ids.append(self.image_id)
                media.append(seg.media_index)
            else:
                ids.append(self.eoc_id)
        return ids, media

    def decode(self, ids: list[int]) -> str:
        """Text of token ids (markers appear literally)."""
        return self.sp.decode(ids)
