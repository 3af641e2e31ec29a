"""Shared building blocks: RMSNorm, multi-head attention (`attention`), MLPs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """Softmax attention of (..., n, d) queries over (..., m, d) keys/values, no mask.

    `F.scaled_dot_product_attention` (fused kernels) everywhere but bf16 on CPU, where the fused
    kernel's backward is 2-4x slower than plain matmuls for our shapes (fwd+bwd on an AVX512-BF16
    CPU, 2 threads: perceiver 18.6 vs 5.6 ms, xattn 14.3 vs 2.7, LM 9.7 vs 2.8); there the
    scores are multiplied out (the bf16 softmax accumulates in fp32: the same error as an fp32
    softmax, without the fp32 copy of the scores). The scale and the causal mask (added as
    0/-inf) are folded into the scores' GEMM (`baddbmm`): no scaled copy of the queries, no
    masked copy of the scores and no masking pass backwards (the softmax's gradient is 0 where
    its output is); bit-identical to scaling the queries when the scale is a power of two."""
    if q.dtype != torch.bfloat16 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    *lead, n, d = q.shape
    m = k.shape[-2]
    q3, k3, v3 = q.reshape(-1, n, d), k.reshape(-1, m, d), v.reshape(-1, m, d)
    if causal:  # top-left aligned, as SDPA's is_causal
        bias = torch.full((n, m), float("-inf"), dtype=q.dtype, device=q.device).triu(1)
        scores = torch.baddbmm(bias, q3, k3.transpose(1, 2), alpha=d ** -0.5)
    else:
        scores = torch.baddbmm(q3.new_zeros(()).expand(q3.shape[0], n, m), q3, k3.transpose(1, 2),
                               beta=0, alpha=d ** -0.5)
    return torch.bmm(scores.softmax(-1), v3).view(*lead, n, d)


class _RMSNormCPU(torch.autograd.Function):
    """y = x * rsqrt(mean(x^2) + eps) * w in few passes: on CPU `F.rms_norm` is composed of pow,
    mean, add, rsqrt and two muls, and autograd differentiates each (about 9 full-size passes
    backwards, 5 here: dx = r*g - x * r^3/d * sum(g*x), g = w*dy)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        d = x.shape[-1]
        r = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(d).add_(eps).rsqrt_()
        ctx.save_for_backward(x, weight, r)
        return (x * r).mul_(weight)

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x, weight, r = ctx.saved_tensors
        g = dy * weight
        dw = None
        if ctx.needs_input_grad[1]:
            dw = (dy * x * r).sum(tuple(range(dy.dim() - 1)))
        dx = None
        if ctx.needs_input_grad[0]:
            c = (g * x).sum(-1, keepdim=True).mul_(r.pow(3)).div_(-x.shape[-1])
            dx = torch.addcmul(g.mul_(r), x, c)
        return dx, dw, None


class RMSNorm(nn.Module):
    """Root-mean-square layer norm (LLaMA); on CPU in fp32 through `_RMSNormCPU`."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32:
            return _RMSNormCPU.apply(x, self.weight, self.eps)
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class SelfAttention(nn.Module):
    """Bidirectional multi-head self-attention with a fused QKV projection (ViT blocks)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class CrossAttention(nn.Module):
    """Queries from `x` (G, n, dim), keys/values from `ctx` (G, m, ctx_dim); no mask, so SDPA can
    use its fused kernels (`attention`)."""

    def __init__(self, dim: int, ctx_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.q = nn.Linear(dim, inner, bias=False)
        self.kv = nn.Linear(ctx_dim, 2 * inner, bias=False)
        self.out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        m = ctx.shape[1]
        q = self.q(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        # split along the last dim: backwards one plain cat, not a stack into a permuted layout
        k, v = (t.view(b, m, self.heads, self.head_dim).transpose(1, 2) for t in self.kv(ctx).chunk(2, dim=-1))
        y = attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


class GeluMLP(nn.Module):
    """LayerNorm-free GELU feed-forward (norm applied by the caller)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))
