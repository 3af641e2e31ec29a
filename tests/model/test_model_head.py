"""The fused head + cross-entropy (`model.head`) gives the loss and gradients of the plain path:
cross-entropy of `Flamingo.forward`'s logits."""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from model.config import tiny
from model.flamingo import Batch, build_model


def _case(vocab: int, image: int, eoc: int) -> tuple[torch.nn.Module, Batch]:
    torch.manual_seed(0)
    cfg = tiny()
    cfg.lm.vocab_size = vocab
    cfg.vision.image_size, cfg.vision.patch = 32, 16
    model = build_model(cfg, image, eoc).train()
    with torch.no_grad():  # open the gates and move the special rows off their initial values
        for blk in model.xattn:
            blk.attn_gate.fill_(0.5)
            blk.ff_gate.fill_(-0.3)
        model.special_out.add_(torch.randn_like(model.special_out))
    rng = random.Random(0)
    ids = torch.tensor([[rng.randrange(5, vocab) for _ in range(20)] for _ in range(2)])
    ids[:, [0, 9]] = image
    ids[:, 8] = eoc
    labels = torch.cat([ids[:, 1:], torch.full((2, 1), -100)], 1)
    labels[labels == image] = -100
    labels[0, :3] = -100
    return model, Batch(ids, labels, torch.randn(4, 3, 32, 32), [1] * 4, [2, 2])


def _plain(model: torch.nn.Module, batch: Batch, reduction: str) -> torch.Tensor:
    logits = model(batch.input_ids, batch.frames, batch.frames_per_media, batch.media_per_sample)
    return F.cross_entropy(logits.flatten(0, 1), batch.labels.flatten(), ignore_index=-100, reduction=reduction)


@pytest.mark.parametrize("vocab,image,eoc", [(61, 3, 4), (50, 50, 51), (48, 52, 50)],
                         ids=["special-rows-inside", "appended", "gap-past-vocab"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_loss_and_gradients_match_cross_entropy_of_logits(vocab: int, image: int, eoc: int,
                                                                reduction: str) -> None:
    model, batch = _case(vocab, image, eoc)
    params = [p for _, p in model.trainable_named_parameters()]
    weights = torch.rand(batch.labels.numel())  # any upstream gradient, not only the mean's
    want = _plain(model, batch, reduction)
    got = model.loss(batch, reduction=reduction)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    scale = weights if reduction == "none" else torch.tensor(1.0)
    g_want = torch.autograd.grad((want * scale).sum(), params)
    g_got = torch.autograd.grad((got * scale).sum(), params)
    for name, a, b in zip([n for n, _ in model.trainable_named_parameters()], g_want, g_got):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4 * float(a.abs().max()), msg=name)  # float noise


def test_padded_head_follows_a_reloaded_head() -> None:
    """The cached transposed head is rebuilt when the head weight changes in place (a reload)."""
    model, batch = _case(61, 3, 4)
    before = model.loss(batch).detach()
    with torch.no_grad():
        model.lm.head_weight.mul_(2.0)
    torch.testing.assert_close(model.loss(batch).detach(), _plain(model, batch, "mean").detach())
    assert not torch.equal(model.loss(batch).detach(), before)


def test_fused_head_under_bf16_autocast_matches_the_plain_path() -> None:
    """Under autocast the fused head multiplies in bf16 both ways, as a plain head does: loss and
    gradients agree with the plain path's within bf16 noise."""
    model, batch = _case(61, 3, 4)
    params = [p for _, p in model.trainable_named_parameters()]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = _plain(model, batch, "mean")
        got = model.loss(batch)
    torch.testing.assert_close(got.float(), want.float(), rtol=0.02, atol=0.02)
    for a, b in zip(torch.autograd.grad(want, params), torch.autograd.grad(got, params)):
        torch.testing.assert_close(b, a, rtol=0.05, atol=0.05 * float(a.abs().max()))
