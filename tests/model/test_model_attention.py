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
