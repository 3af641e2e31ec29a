"""Tokenizers that keep `<image>` and `<EOC>` as single ids, so each marker stays bound to its media."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

IMAGE, EOC = "<image>", "<EOC>"
_MARKERS = re.compile(f"({re.escape(IMAGE)}|{re.escape(EOC)})")


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class MarkerTokenizer:
    """Base: encodes text piece by piece between markers; subclasses provide `_encode`/`_decode`."""

    image_id: int
    eoc_id: int
    vocab_size: int
    identity: str  # equal identities mean equal token ids

    def _encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def _decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Ids of `text`; every marker becomes exactly one id, so marker count = media count."""
        ids: list[int] = []
        for piece in _MARKERS.split(text):
            if piece == IMAGE:
                ids.append(self.image_id)
            elif piece == EOC:
                ids.append(self.eoc_id)
            elif piece:
                ids.extend(self._encode(piece))
        return ids

    def decode(self, ids: list[int]) -> str:
        out, run = [], []
        for i in ids:
            if i in (self.image_id, self.eoc_id):
                out.append(self._decode(run))
                out.append(IMAGE if i == self.image_id else EOC)
                run = []
            else:
                run.append(i)
        out.append(self._decode(run))
        return "".join(out)


class SPTokenizer(MarkerTokenizer):
    """A sentencepiece model in which `<image>` and `<EOC>` are user-defined symbols."""

    def __init__(self, path: str | Path) -> None:
        import sentencepiece as spm

        self.path = str(path)
        self.sp = spm.SentencePieceProcessor(model_file=self.path)
        self.image_id, self.eoc_id = self.sp.piece_to_id(IMAGE), self.sp.piece_to_id(EOC)
        if self.image_id == self.sp.unk_id() or self.eoc_id == self.sp.unk_id():
            raise ValueError(f"{path}: <image>/<EOC> are not pieces of this sentencepiece model")
        self.vocab_size = self.sp.get_piece_size()
        self.identity = "sp:" + file_sha256(path)

    def _encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def _decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)


class HFTokenizer(MarkerTokenizer):
    """A Hugging Face tokenizer; the markers get fresh ids right after the LM's vocabulary."""

    def __init__(self, path: str, gguf_file: str | None, lm_vocab_size: int) -> None:
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path, gguf_file=gguf_file)
        self.image_id, self.eoc_id = lm_vocab_size, lm_vocab_size + 1
        self.vocab_size = lm_vocab_size + 2
        self.identity = f"hf:{Path(path).resolve()}/{gguf_file or ''}"

    def _encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def _decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids)
