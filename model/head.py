"""Output head and next-token cross-entropy in one autograd function.

The (tokens x vocab) logits are the largest tensor of a step. Computed the plain way (linear,
special rows written in, log-softmax, NLL) autograd keeps the logits and the log-probabilities
and, backwards, builds three more tensors of that size (the NLL gradient, the log-softmax
gradient, the gradient that skips the overwritten special columns). Here the logits become the
softmax probabilities in place, and the backward pass turns them into the logit gradient in
place: one tensor of that size in all. The frozen head is multiplied as a contiguous (dim, V')
matrix with V' the vocabulary rounded up to 16: BLAS multiplies an odd-width transposed matrix
(vocab 8,197) at half speed. That copy costs the head's size once more (113 MB for SmolLM2), and
under autocast it is kept in the autocast dtype (the head is frozen: casting it every step would
copy it twice per step, forwards and backwards), half that size in bf16; both passes multiply it.
"""
from __future__ import annotations

import torch

PAD = 16


def padded_transpose(weight: torch.Tensor, vocab: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(dim, V') copy of a frozen (rows, dim) head in `dtype` (default the weight's), V' = `vocab`
    rounded up to `PAD`; columns past its rows are 0 (the logit 0 that padding the plain logits
    gives ids past the LM's vocabulary)."""
    cols = -(-vocab // PAD) * PAD
    out = weight.new_zeros(weight.shape[1], cols, dtype=dtype)
    out[:, :weight.shape[0]] = weight.detach().t()
    return out


class HeadCrossEntropy(torch.autograd.Function):
    """Per-token loss (0 where the target is -100) of logits h @ E.T, E being the frozen head (given
    as `padded_transpose`, in the autocast dtype under autocast) with the rows `ids` replaced by the
    trainable `special` rows; gradients for `h` and `special` only."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, special: torch.Tensor, weight_t: torch.Tensor,
                ids: torch.Tensor, targets: torch.Tensor, vocab: int) -> torch.Tensor:
        z = h @ weight_t  # bf16 under autocast, like the plain head; softmax in fp32
        mm_dtype, z = z.dtype, z.float()
        z[:, ids] = (h @ special.t()).float()
        logits = z[:, :vocab]
        keep = targets != -100
        tgt = targets.clamp(min=0).unsqueeze(1)
        picked = logits.gather(1, tgt).squeeze(1)
        top = logits.amax(dim=1, keepdim=True)
        total = logits.sub_(top).exp_().sum(dim=1, keepdim=True)  # softmax in place: no other tensor of this size
        loss = torch.where(keep, (total.log() + top).squeeze(1) - picked, 0.0)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            logits.div_(total)  # probabilities
            ctx.save_for_backward(h, special, weight_t, ids, tgt, keep, z)
            ctx.vocab, ctx.mm_dtype = vocab, mm_dtype
        return loss

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        h, special, weight_t, ids, tgt, keep, z = ctx.saved_tensors
        g = z[:, :ctx.vocab]  # d loss_i / d logits = probabilities - one-hot(target), times grad_i
        g.scatter_add_(1, tgt, torch.full_like(tgt, -1, dtype=g.dtype))
        g.mul_(torch.where(keep, grad.float(), 0.0).unsqueeze(1))
        hf = h.float()
        g_ids = g[:, ids]
        grad_h = grad_special = None
        if ctx.needs_input_grad[0]:
            # g @ E in the forward GEMM's dtype (bf16 under autocast, as a plain head's backward; 3x
            # faster than fp32 there) over all V' columns of `z` (contiguous; its padding columns
            # are 0, as are E.T's), corrected on the special columns
            dt = ctx.mm_dtype
            grad_h = (z.to(dt) @ weight_t.t()).float() + g_ids @ (special.float() - weight_t[:, ids].t().float())
            grad_h = grad_h.to(h.dtype)
        if ctx.needs_input_grad[1]:
            grad_special = (g_ids.t() @ hf).to(special.dtype)
        return grad_h, grad_special, None, None, None, None
