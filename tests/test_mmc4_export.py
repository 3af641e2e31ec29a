"""The MMC4 export read by OpenFlamingo's own MMC4 preprocessing (`open_flamingo.train.data.
preprocess_interleaved`, from the `open-flamingo` package installed with `--no-deps`): every image
the export counts as passing the loader's 10 KB cutoff comes back, in its slot, with its pixels.

Two adapters stand between the package and this environment, nothing else: PyPI has no
torchvision build for the CPU torch, so when torchvision cannot be imported its one use in that
function (a random horizontal flip augmentation) is provided as `p=0` (identity); and OpenFlamingo
2.0.1 calls `tokenizer.additional_special_tokens(_ids)`, which transformers 5 renamed, so the HF
tokenizer gets those two properties back. The loader's 50 % coin for one-image samples is fixed to
"keep" so counts are exact.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import webdataset as wds
from PIL import Image

from m3w_builder.output.dataset import iter_samples
from m3w_builder.output.mmc4 import LOADER_MIN_BYTES, MIN_SHARDS, export

SIDE = 32  # the stand-in CLIP processor resizes to SIDE × SIDE so images stack, as CLIP's does
WORD_RE = re.compile(r"\w+|[^\w\s]+")


def _torchvision_or_identity_flip() -> types.ModuleType | None:
    """None when torchvision imports; else a stand-in holding only the flip `data.py` uses."""
    try:
        import torchvision  # noqa: F401
        return None
    except Exception:  # absent, or a CUDA build whose ops do not register with the CPU torch
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        stand_in = types.ModuleType("torchvision")
        stand_in.transforms = types.SimpleNamespace(RandomHorizontalFlip=lambda p=0.5: (lambda images: images))
        return stand_in


@pytest.fixture(scope="module")
def of_data():
    """OpenFlamingo's training-data module, loaded from the installed package's file (the package's
    `__init__` imports the model, whose dependencies `--no-deps` leaves out)."""
    spec = importlib.util.find_spec("open_flamingo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("open-flamingo not installed (pip install --no-deps open-flamingo)")
    train = os.path.join(spec.submodule_search_locations[0], "train")
    stand_in = _torchvision_or_identity_flip()
    sys.path.insert(0, train)  # its `from data_utils import *`
    if stand_in is not None:  # seen by data.py only: other libraries (transformers) probe for torchvision
        sys.modules["torchvision"] = stand_in
    try:
        loader = importlib.util.spec_from_file_location("open_flamingo_train_data", os.path.join(train, "data.py"))
        data = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(data)
    finally:
        if stand_in is not None:
            del sys.modules["torchvision"]
        sys.path.remove(train)
    return data


def _tokenizer(texts: list[str]):
    """A real HF fast tokenizer (word level over the export's own words) with OpenFlamingo's tokens."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {t: i for i, t in enumerate(["[UNK]", "[PAD]", "</s>"] + sorted({w for t in texts for w in WORD_RE.findall(t)}))}
    model = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    model.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()

    class OpenFlamingoTokenizer(transformers.PreTrainedTokenizerFast):
        special = ["<|endofchunk|>", "<image>"]

        @property
        def additional_special_tokens(self) -> list[str]:
            return self.special

        @property
        def additional_special_tokens_ids(self) -> list[int]:
            return self.convert_tokens_to_ids(self.special)

    tokenizer = OpenFlamingoTokenizer(tokenizer_object=model, unk_token="[UNK]", pad_token="[PAD]", eos_token="</s>")
    tokenizer.add_special_tokens({"additional_special_tokens": OpenFlamingoTokenizer.special})
    return tokenizer


def _clip(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB").resize((SIDE, SIDE), Image.BILINEAR)).copy()).permute(2, 0, 1)


def _squash(text: str) -> str:
    """Text without end-of-chunk markers, padding or whitespace: order of words and images only."""
    for token in ("<|endofchunk|>", "<EOC>", "</s>", "[PAD]"):
        text = text.replace(token, "")
    return "".join(text.split())


@pytest.fixture(scope="module")
def m3w(sample_output) -> Path:
    return sample_output("m3w")


@pytest.mark.parametrize("small_images", ["png", "keep"])
def test_openflamingo_loader_keeps_every_image_the_export_counts(m3w, of_data, tmp_path, monkeypatch, small_images):
    paths, counts = export(m3w, tmp_path / "mmc4", small_images=small_images)
    assert len(paths) == MIN_SHARDS and not list((tmp_path / "mmc4").glob(".*tmp"))
    originals = {s.key: s for s in iter_samples(m3w)}
    docs = {s["__key__"]: s["json"] for p in paths for s in wds.WebDataset(str(p), shardshuffle=False)}
    assert sorted(docs) == sorted(originals) and counts["windows"] == len(docs)
    tokenizer = _tokenizer([t for d in docs.values() for t in json.loads(d)["text_list"]])
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    monkeypatch.setattr(of_data.random, "random", lambda: 1.0)  # never the one-image coin
    kept = Counter()
    for key, raw in sorted(docs.items()):
        doc, sample = json.loads(raw), originals[key]
        passing = [len(base64.b64decode(i["image_base64"])) >= LOADER_MIN_BYTES for i in doc["image_info"]]
        try:
            images, (input_ids, _mask) = of_data.preprocess_interleaved(
                [raw], tokenizer, _clip, sim_threshold=0.5, min_num_images=1, max_num_images=64, max_tokens=4096)
        except ValueError as error:  # the loader's own refusal: only when no image passed its cutoff
            assert "No images" in str(error) and not any(passing)
            continue
        n = int((input_ids == image_id).sum())
        kept["images"] += n
        assert n == sum(passing)
        # the loader's text has the window's words with each surviving image in its own slot
        pieces = sample.meta["text"].split("<image>")
        expected = pieces[0] + "".join(("<image>" if ok else "") + p for ok, p in zip(passing, pieces[1:]))
        assert _squash(tokenizer.decode(input_ids[0])) == _squash(expected)
        media = [m[0] for _kind, m in sample.media()]
        want = torch.stack([_clip(Image.open(io.BytesIO(sample.members[m]))) for m, ok in zip(media, passing) if ok])
        assert torch.equal(images[:n].to(want.dtype), want)
    assert kept["images"] == counts["images"] - counts["below_cutoff"]
    if small_images == "png":
        assert counts["stored_as_png"] > 0 and kept["images"] >= 0.95 * counts["images"]
    else:
        assert counts["stored_as_png"] == 0 and counts["below_cutoff"] > 0.5 * counts["images"]
