"""Media binding: each text token sees only the latest preceding image (images, video, none)."""
from __future__ import annotations

import random

import torch

from model.config import tiny
from model.flamingo import build_model
from model.xattn import media_index, media_mask

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


def test_mask_selects_exactly_the_bound_latents() -> None:
    tok = torch.tensor([[-1, 0, 0, 1, 2]])
    mask = media_mask(tok, 3, 4)[0, 0]
    assert mask[0].all()  # unbound rows are zeroed by the caller
    for t, m in enumerate(tok[0].tolist()[1:], start=1):
        assert mask[t].nonzero().squeeze(1).tolist() == list(range(4 * m, 4 * m + 4))


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
        h = torch.randn(2, 20, model.lm.dim)
        blk.ff_gate.data.zero_()

        def run(lat: torch.Tensor) -> torch.Tensor:
            media = model._per_sample_media(lat, counts)
            mask = media_mask(tok, max(counts), lat.shape[1])
            return blk(h, media, mask, (tok >= 0).unsqueeze(-1).float())

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
