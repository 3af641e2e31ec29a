"""Media binding: each text token sees only the latest preceding image (images, video, none)."""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from model.config import tiny
from model.flamingo import build_model
from model.xattn import media_index, media_plan

IMAGE, EOC, VOCAB = 3, 4, 50


def small_model():
    torch.manual_seed(0)
    cfg = tiny()
    cfg.lm.vocab_size = VOCAB
    cfg.vision.image_size, cfg.vision.patch = 32, 16
    model = build_model(cfg, IMAGE, EOC).eval()
    with torch.no_grad():  # open the gates so media actually flow into the LM
        for blk in model.xattn:
            blk.attn_gate.fill_(1.0)
            blk.ff_gate.fill_(1.0)
    return model


def random_case(rng: random.Random, batch: int, length: int, video: bool):
    """Random windows with 0-4 markers each, their media (some videos) and flat frames."""
    ids = torch.tensor([[rng.randrange(5, VOCAB) for _ in range(length)] for _ in range(batch)])
    counts, frames_per_media = [], []
    for b in range(batch):
        pos = sorted(rng.sample(range(length), rng.randrange(0, 5)))
        ids[b, pos] = IMAGE
        counts.append(len(pos))
        frames_per_media += [rng.choice([1, 3]) if video else 1 for _ in pos]
    frames = torch.randn(sum(frames_per_media), 3, 32, 32)
    return ids, frames, frames_per_media, counts


def test_media_index_is_latest_preceding_marker() -> None:
    rng = random.Random(0)
    for _ in range(50):
        ids, _, _, _ = random_case(rng, 3, 40, False)
        got = media_index(ids, IMAGE)
        for b in range(ids.shape[0]):
            seen = -1
            for t in range(ids.shape[1]):
                seen += int(ids[b, t] == IMAGE)
                assert got[b, t] == seen


def test_plan_routes_each_token_to_its_bound_media_only() -> None:
    """Packed slot (m, j) holds the j-th token bound to global media m; unbound tokens get none."""
    rng = random.Random(3)
    for _ in range(30):
        ids, _, _, counts = random_case(rng, 3, 30, False)
        plan = media_plan(ids, IMAGE, counts)
        tok = media_index(ids, IMAGE)
        m_total, j = plan.gather.shape
        assert m_total == sum(counts)
        seen = set()
        for b in range(ids.shape[0]):
            for t in range(ids.shape[1]):
                slot = int(plan.scatter[b * ids.shape[1] + t])
                if tok[b, t] < 0:
                    assert slot == m_total * j
                    continue
                m = sum(counts[:b]) + int(tok[b, t])
                assert slot // j == m and int(plan.gather.flatten()[slot]) == b * ids.shape[1] + t
                seen.add(slot)
        pad = {s for s in range(m_total * j) if s not in seen}
        assert all(int(plan.gather.flatten()[s]) == ids.numel() for s in pad)


def masked_reference(blk, h: torch.Tensor, latents: torch.Tensor, ids: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """The block written the direct way: every token attends to all of its sample's latents
    through a boolean mask that keeps only its bound media; unbound tokens are zeroed."""
    b, n, _ = h.shape
    k = latents.shape[1]
    slots = max(counts)
    media = torch.zeros(b, slots * k, latents.shape[2])
    start = 0
    for i, c in enumerate(counts):
        media[i, : c * k] = latents[start: start + c].flatten(0, 1)
        start += c
    tok = media_index(ids, IMAGE)
    mask = (torch.arange(slots * k) // k).view(1, 1, -1) == tok.unsqueeze(-1)
    mask = (mask | (tok < 0).unsqueeze(-1)).unsqueeze(1)
    att = blk.attn
    x = blk.norm_attn(h)
    q = att.q(x).view(b, n, att.heads, att.head_dim).transpose(1, 2)
    kk, v = att.kv(media).view(b, slots * k, 2, att.heads, att.head_dim).permute(2, 0, 3, 1, 4)
    y = F.scaled_dot_product_attention(q, kk, v, attn_mask=mask).transpose(1, 2).reshape(b, n, -1)
    y = att.out(y) * (tok >= 0).unsqueeze(-1)
    h = h + blk.attn_gate.tanh() * y
    return h + blk.ff_gate.tanh() * blk.ff(blk.norm_ff(h))


def test_per_image_attention_equals_masked_attention() -> None:
    model = small_model()
    blk = model.xattn[0]
    rng = random.Random(4)
    for _ in range(10):
        ids, frames, fpm, counts = random_case(rng, 3, 40, video=True)
        if sum(counts) == 0:
            continue
        with torch.no_grad():
            latents = model.encode_media(frames, fpm)
            h = torch.randn(3, 40, model.lm.dim)
            got = blk(h, latents, media_plan(ids, IMAGE, counts))
            want = masked_reference(blk, h, latents, ids, counts)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _first_bound(ids: torch.Tensor, b: int, j: int) -> int:
    return int((ids[b] == IMAGE).nonzero()[j])


def test_changing_one_image_changes_only_its_own_and_later_tokens() -> None:
    """Perturb media j of sample b: logits change from its marker on, in sample b only."""
    model = small_model()
    rng = random.Random(1)
    for case in range(12):
        ids, frames, fpm, counts = random_case(rng, 3, 24, video=case % 2 == 0)
        if sum(counts) == 0:
            continue
        with torch.no_grad():
            base = model(ids, frames, fpm, counts)
            m = rng.randrange(sum(counts))
            starts = torch.cumsum(torch.tensor([0] + fpm), 0)
            frames2 = frames.clone()
            frames2[starts[m]: starts[m + 1]] += 1.0
            new = model(ids, frames2, fpm, counts)
        b = next(i for i in range(len(counts)) if sum(counts[: i + 1]) > m)
        j = m - sum(counts[:b])
        t0 = _first_bound(ids, b, j)
        diff = (new - base).abs().amax(-1) > 1e-6
        assert not diff[torch.arange(len(counts)) != b].any(), "another sample changed"
        assert not diff[b, :t0].any(), "a token before the image's marker changed"
        assert diff[b, t0], "the image's own marker token did not change"


def test_xattn_output_depends_only_on_bound_media() -> None:
    """Inside one gated block: the attention output at t uses only media tok_media[t]."""
    model = small_model()
    blk = model.xattn[0]
    rng = random.Random(2)
    for _ in range(10):
        ids, frames, fpm, counts = random_case(rng, 2, 20, video=True)
        if sum(counts) == 0:
            continue
        latents = model.encode_media(frames, fpm).detach()
        tok = media_index(ids, IMAGE)
        plan = media_plan(ids, IMAGE, counts)
        h = torch.randn(2, 20, model.lm.dim)
        blk.ff_gate.data.zero_()

        def run(lat: torch.Tensor) -> torch.Tensor:
            return blk(h, lat, plan)

        base = run(latents)
        assert torch.equal(base[tok < 0], h[tok < 0]), "tokens before any image must get no xattn output"
        m = rng.randrange(sum(counts))
        lat2 = latents.clone()
        lat2[m] += 1.0
        changed = (run(lat2) - base).abs().amax(-1) > 1e-6
        b = next(i for i in range(len(counts)) if sum(counts[: i + 1]) > m)
        expect = torch.zeros_like(changed)
        expect[b] = tok[b] == m - sum(counts[:b])
        assert torch.equal(changed, expect)


def test_zero_images_in_batch_runs_text_only() -> None:
    model = small_model()
    ids = torch.randint(5, VOCAB, (2, 16))
    logits = model(ids, torch.zeros(0), [], [0, 0])
    assert logits.shape == (2, 16, VOCAB) and torch.isfinite(logits).all()


def test_video_uses_temporal_embeddings_and_one_media_slot() -> None:
    model = small_model()
    frames = torch.randn(4, 3, 32, 32)
    out = model.encode_media(frames, [1, 3])
    assert out.shape == (2, 64, model.cfg.perceiver.dim)
    with torch.no_grad():
        model.perceiver.temporal[1].add_(1.0)
    out2 = model.encode_media(frames, [1, 3])
    assert torch.equal(out[0], out2[0]) and not torch.equal(out[1], out2[1])


def test_bf16_autocast_tracks_fp32_and_keeps_fp32_gradients() -> None:
    from model.flamingo import Batch
    model = small_model().train()
    ids, frames, fpm, counts = random_case(random.Random(5), 2, 24, video=True)
    labels = torch.cat([ids[:, 1:], torch.full((2, 1), -100)], 1)
    batch = Batch(ids, labels, frames, fpm, counts)
    fp32 = model.loss(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = model.loss(batch)
    assert bf16.dtype == torch.float32 and abs(float(bf16.detach() - fp32.detach())) < 0.02 * float(fp32.detach())
    bf16.backward()
    grads = [p.grad for _, p in model.trainable_named_parameters()]
    assert all(g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


def test_xattn_first_places_blocks_from_that_layer_only() -> None:
    """Blocks sit before layers first, first + every, ...: the hidden state entering the LM's
    lower layers is the same whatever the image, and the image still reaches the logits."""
    torch.manual_seed(0)
    cfg = tiny()
    cfg.lm.vocab_size, cfg.lm.n_layers = VOCAB, 4
    cfg.vision.image_size, cfg.vision.patch = 32, 16
    cfg.xattn_every, cfg.xattn_first = 2, 1
    model = build_model(cfg, IMAGE, EOC).eval()
    assert model.xattn_layers == [1, 3] and len(model.xattn) == 2
    with torch.no_grad():
        for blk in model.xattn:
            blk.attn_gate.fill_(1.0)
    ids = torch.tensor([[5, 6, IMAGE, 7, 8, 9]])
    inputs: list[list[torch.Tensor]] = [[] for _ in model.lm.layers]  # per layer, its input per forward
    for i, layer in enumerate(model.lm.layers):
        layer.register_forward_pre_hook(lambda _mod, args, i=i: inputs[i].append(args[0]))
    with torch.no_grad():
        a = model(ids, torch.randn(1, 3, 32, 32), [1], [1])
        b = model(ids, torch.randn(1, 3, 32, 32), [1], [1])
    assert torch.equal(*inputs[0])  # layer 0 has no block before it
    assert not torch.equal(*inputs[1])  # the block before layer 1 injects the image
    assert (a - b).abs().amax() > 1e-4
