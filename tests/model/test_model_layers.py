"""RMSNorm and the LM layer's q/k/v split: the same values and gradients as the plain
formulations, with backward passes that do less full-size work (counted by a dispatch mode)."""
from __future__ import annotations

import collections

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from model.config import LMConfig
from model.layers import RMSNorm, _RMSNormCPU, attention
from model.lm import DecoderLayer, apply_rope, rope_tables


class _FullSizeOps(TorchDispatchMode):
    """Counts the aten ops (views aside) that write a tensor of at least `numel` elements, by name."""

    def __init__(self, numel: int) -> None:
        super().__init__()
        self.numel, self.ops = numel, collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else [out]
        if not func.is_view and any(isinstance(o, torch.Tensor) and o.numel() >= self.numel for o in outs):
            self.ops[str(func.overloadpacket)] += 1
        return out


@pytest.mark.parametrize("weight_grad", [False, True], ids=["frozen", "trainable"])
def test_rmsnorm_is_rms_norm(weight_grad: bool) -> None:
    torch.manual_seed(0)
    norm = RMSNorm(64)
    with torch.no_grad():
        norm.weight.normal_(1.0, 0.3)
    norm.weight.requires_grad_(weight_grad)
    x = (torch.randn(3, 7, 64) * 4).requires_grad_()
    dy = torch.randn(3, 7, 64)
    got = norm(x)
    want = F.rms_norm(x, (64,), norm.weight, norm.eps)
    torch.testing.assert_close(got, want)
    ins = (x, norm.weight) if weight_grad else (x,)
    for a, b in zip(torch.autograd.grad(got, ins, dy), torch.autograd.grad(want, ins, dy)):
        torch.testing.assert_close(a, b)


def test_rmsnorm_gradients_in_float64() -> None:
    """The hand-written backward against finite differences (the module takes it for fp32 only)."""
    torch.manual_seed(1)
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, u: _RMSNormCPU.apply(t, u, 1e-6), (x, w))


def test_rmsnorm_backward_is_few_full_size_passes() -> None:
    """Frozen weight (the LM's): 4 full-size tensors written backwards (F.rms_norm's autograd wrote 8)."""
    norm = RMSNorm(256).requires_grad_(False)
    x = torch.randn(2, 256, 256, requires_grad=True)
    y, dy = norm(x), torch.ones(2, 256, 256)
    with _FullSizeOps(x.numel()) as mode:
        y.backward(dy)
    assert sum(mode.ops.values()) <= 4, mode.ops


def _indexed_forward(layer: DecoderLayer, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The layer with q/k/v taken by indexing the permuted projection."""
    b, n, d = x.shape
    qkv = layer.qkv(layer.norm1(x)).view(b, n, 3, layer.heads, d // layer.heads).permute(2, 0, 3, 1, 4)
    qk = apply_rope(qkv[:2], cos.to(qkv.dtype), sin.to(qkv.dtype))
    y = attention(qk[0], qk[1], qkv[2], causal=True)
    x = x + layer.o(y.transpose(1, 2).reshape(b, n, d))
    gate, up = layer.gate_up(layer.norm2(x)).chunk(2, dim=-1)
    return x + layer.down(F.silu(gate) * up)


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_decoder_layer_split_is_indexing_bit_for_bit(bf16: bool) -> None:
    torch.manual_seed(2)
    cfg = LMConfig(dim=64, n_heads=4, ffn_dim=128)
    layer = DecoderLayer(cfg).requires_grad_(False)
    cos, sin = rope_tables(32, 16, cfg.rope_theta)
    x = torch.randn(2, 32, 64)
    dy = torch.randn(2, 32, 64)
    outs = []
    for fwd in (layer.forward, lambda *a: _indexed_forward(layer, *a)):
        xi = x.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = fwd(xi, cos, sin)
        outs.append((y, torch.autograd.grad(y, xi, dy)[0]))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])


def test_decoder_layer_backward_builds_no_zero_filled_qkv_gradients() -> None:
    """Indexing q, k and v out of the projection made autograd build a zero-filled gradient of the
    whole (3, B, H, L, hd) projection for each index and add them up."""
    torch.manual_seed(3)
    cfg = LMConfig(dim=64, n_heads=4, ffn_dim=128)
    layer = DecoderLayer(cfg).requires_grad_(False)
    cos, sin = rope_tables(32, 16, cfg.rope_theta)
    x = torch.randn(2, 32, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x, cos, sin)
    dy = torch.ones_like(y)
    with _FullSizeOps(x.numel()) as mode:
        y.backward(dy)
    assert not {"aten.select_backward", "aten.slice_backward", "aten.zeros", "aten.new_zeros"} & set(mode.ops), mode.ops
