"""`model.layers.attention`: bf16 on CPU multiplies the scores out instead of calling SDPA's fused
kernel (2-4x faster there); it must compute SDPA's attention, forward and backward."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from model.layers import attention


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("n,m", [(64, 113), (52, 64), (40, 40)])
def test_bf16_cpu_attention_is_sdpa_attention(n: int, m: int, causal: bool) -> None:
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 4, size, 64, requires_grad=True) for size in (n, m, m))
    out_grad = torch.randn(3, 4, n, 64)
    want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    want_grads = torch.autograd.grad(want, (q, k, v), out_grad)
    low = [t.detach().bfloat16().requires_grad_() for t in (q, k, v)]
    got = attention(*low, causal=causal)
    assert got.dtype == torch.bfloat16
    got_grads = torch.autograd.grad(got, low, out_grad.bfloat16())
    torch.testing.assert_close(got.float(), want, rtol=0.02, atol=0.03)  # bf16 keeps 8 bits of mantissa
    for a, b in zip(want_grads, got_grads):
        torch.testing.assert_close(b.float(), a, rtol=0.02, atol=0.03 * float(a.abs().max()))


def test_fp32_attention_is_sdpa_exactly() -> None:
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 4, 30, 16) for _ in range(3))
    assert torch.equal(attention(q, k, v, causal=True), F.scaled_dot_product_attention(q, k, v, is_causal=True))


def _scaled_queries_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """The plain formulation: scaled queries, masked scores, softmax, values."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if causal:
        n, m = scores.shape[-2:]
        scores = scores.masked_fill(torch.ones(n, m, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(-1) @ v


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("n,m,d", [(64, 113, 64), (52, 64, 64), (40, 56, 32)])
def test_bf16_cpu_attention_folds_scale_and_mask_into_the_gemm(n: int, m: int, d: int, causal: bool) -> None:
    """The scale and the causal mask inside `baddbmm` give the plain formulation's output and
    gradients on the model's (b, n, h, d) -> (b, h, n, d) projection views: bit for bit when the
    scale is a power of two (head dim 64), within bf16 rounding otherwise."""
    torch.manual_seed(2)
    q, k, v = (torch.randn(3, size, 4, d).bfloat16().transpose(1, 2) for size in (n, m, m))
    out_grad = torch.randn(3, 4, n, d).bfloat16()
    ins = [[t.clone().requires_grad_() for t in (q, k, v)] for _ in range(2)]
    want, got = _scaled_queries_attention(*ins[0], causal), attention(*ins[1], causal=causal)
    pairs = [(want, got), *zip(torch.autograd.grad(want, ins[0], out_grad), torch.autograd.grad(got, ins[1], out_grad))]
    for a, b in pairs:
        if d == 64:
            assert torch.equal(b, a)
        else:
            torch.testing.assert_close(b.float(), a.float(), rtol=0.02, atol=0.02 * float(a.detach().abs().max()))
