"""Flamingo: frozen vision encoder -> Perceiver Resampler -> gated xattn in a frozen causal LM."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from model.config import FlamingoConfig
from model.head import HeadCrossEntropy, padded_transpose
from model.lm import build_lm
from model.perceiver import PerceiverResampler
from model.vision import build_vision
from model.xattn import GatedXAttnDense, MediaPlan, media_plan


@dataclass
class Batch:
    """A batch of token windows and only its real media, packed flat.

    `frames` (F, 3, S, S) are all frames of all media in order; `frames_per_media[m]` is 1 for an
    image and T for a video; `media_per_sample[b]` media belong to sample b, in marker order.
    `plan` (built on the CPU by collate, else in the forward pass) routes tokens to their media;
    `docs` names each sample's document (evaluation clusters its standard errors by document).
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    frames: torch.Tensor
    frames_per_media: list[int]
    media_per_sample: list[int]
    plan: MediaPlan | None = None
    docs: list[str] = field(default_factory=list)

    def to(self, device: torch.device | str) -> "Batch":
        nb = torch.device(device).type == "cuda"  # asynchronous from pinned memory (DataLoader pin_memory)
        return Batch(self.input_ids.to(device, non_blocking=nb), self.labels.to(device, non_blocking=nb),
                     self.frames.to(device, non_blocking=nb), self.frames_per_media, self.media_per_sample,
                     self.plan.to(device, nb) if self.plan is not None else None, self.docs)

    def pin_memory(self) -> "Batch":
        """Page-locked copies; the DataLoader calls it with `pin_memory=True`."""
        plan = MediaPlan(self.plan.gather.pin_memory(), self.plan.scatter.pin_memory()) if self.plan else None
        return Batch(self.input_ids.pin_memory(), self.labels.pin_memory(), self.frames.pin_memory(),
                     self.frames_per_media, self.media_per_sample, plan, self.docs)

    @property
    def n_tokens(self) -> int:
        return int((self.labels != -100).sum())


class Flamingo(nn.Module):
    """Trainable parts: perceiver, xattn blocks, `<image>`/`<EOC>` input and output embeddings."""

    def __init__(self, cfg: FlamingoConfig, lm: nn.Module, vision: nn.Module, image_id: int, eoc_id: int) -> None:
        super().__init__()
        self.cfg, self.lm, self.vision = cfg, lm, vision
        self.image_id = image_id
        self.vocab_size = max(lm.vocab_size, image_id + 1, eoc_id + 1)
        self.register_buffer("special_ids", torch.tensor([image_id, eoc_id]), persistent=False)
        self.special_in = nn.Parameter(self._init_rows(lm.embed_weight, [image_id, eoc_id]))
        self.special_out = nn.Parameter(self._init_rows(lm.head_weight, [image_id, eoc_id]))
        self.perceiver = PerceiverResampler(cfg.perceiver, cfg.vision.width)
        self.xattn_layers = list(range(cfg.xattn_first, lm.n_layers, cfg.xattn_every))
        self.xattn = nn.ModuleList([
            GatedXAttnDense(lm.dim, cfg.perceiver.dim, cfg.xattn_heads, cfg.xattn_head_dim, cfg.xattn_ff_mult)
            for _ in self.xattn_layers])
        self._head_t: dict[torch.dtype, tuple[tuple, torch.Tensor]] = {}

    @staticmethod
    def _init_rows(weight: torch.Tensor, ids: list[int]) -> torch.Tensor:
        """Existing rows for ids inside the table, the mean row for new ids."""
        mean = weight.detach().mean(0)
        return torch.stack([weight.detach()[i].clone() if i < weight.shape[0] else mean.clone() for i in ids])

    def train(self, mode: bool = True) -> "Flamingo":
        """Frozen backbones stay in eval mode (no dropout, BatchNorm statistics kept)."""
        super().train(mode)
        self.lm.eval()
        self.vision.eval()
        return self

    def encode_media(self, frames: torch.Tensor, frames_per_media: list[int]) -> torch.Tensor:
        """(F, 3, S, S) frames -> (M, num_latents, dim); the frozen encoder runs without autograd."""
        with torch.no_grad():
            feats = self.vision(frames)
        if len(set(frames_per_media)) == 1:  # one frame count (all images): the frames are already in media order
            return self.perceiver(feats.view(len(frames_per_media), frames_per_media[0], *feats.shape[1:]))
        counts = torch.tensor(frames_per_media)
        starts = torch.cumsum(counts, 0) - counts
        out = torch.empty(len(frames_per_media), self.cfg.perceiver.num_latents, self.cfg.perceiver.dim,
                          device=frames.device, dtype=feats.dtype)
        for t in sorted(set(frames_per_media)):  # media with the same frame count run as one batch
            sel = (counts == t).nonzero().squeeze(1)
            idx = (starts[sel].unsqueeze(1) + torch.arange(t)).reshape(-1).to(frames.device)
            out[sel.to(frames.device)] = self.perceiver(feats[idx].view(len(sel), t, *feats.shape[1:]))
        return out

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Frozen embeddings, with the trainable `<image>`/`<EOC>` rows substituted."""
        emb = F.embedding(input_ids.clamp(max=self.lm.vocab_size - 1), self.lm.embed_weight)
        sel = (input_ids.unsqueeze(-1) == self.special_ids).to(emb.dtype)
        return emb * (1 - sel.sum(-1, keepdim=True)) + sel @ self.special_in

    def hidden(self, input_ids: torch.Tensor, frames: torch.Tensor, frames_per_media: list[int],
               media_per_sample: list[int], media_perm: torch.Tensor | None = None,
               plan: MediaPlan | None = None) -> torch.Tensor:
        """Final hidden states (B, L, dim). `media_perm` reorders the media items (visual-conditioning test)."""
        media = None
        if sum(media_per_sample) > 0:
            media = self.encode_media(frames, frames_per_media)
            if media_perm is not None:
                media = media[media_perm]
            if plan is None:
                plan = media_plan(input_ids, self.image_id, media_per_sample)
        blocks = dict(zip(self.xattn_layers, self.xattn))

        def before_layer(i: int, h: torch.Tensor) -> torch.Tensor:
            return blocks[i](h, media, plan) if i in blocks else h

        return self.lm.hidden(self.embed(input_ids), before_layer)

    def forward(self, input_ids: torch.Tensor, frames: torch.Tensor, frames_per_media: list[int],
                media_per_sample: list[int], media_perm: torch.Tensor | None = None,
                plan: MediaPlan | None = None) -> torch.Tensor:
        """Logits (B, L, vocab)."""
        h = self.hidden(input_ids, frames, frames_per_media, media_per_sample, media_perm, plan)
        logits = F.linear(h, self.lm.head_weight)
        if self.vocab_size > logits.shape[-1]:
            logits = F.pad(logits, (0, self.vocab_size - logits.shape[-1]))
        return logits.index_copy_(-1, self.special_ids, h @ self.special_out.t())

    def head_t(self, dtype: torch.dtype) -> torch.Tensor:
        """The frozen head as a padded (dim, V') matrix in `dtype` (`model.head`), one per dtype
        (a bench alternates fp32 and bf16 steps), rebuilt whenever the head weight changes (a reload
        bumps its version, a move its storage)."""
        w = self.lm.head_weight
        key = (w.data_ptr(), w._version, w.device, w.dtype)
        if dtype not in self._head_t or self._head_t[dtype][0] != key:
            self._head_t[dtype] = key, padded_transpose(w, self.vocab_size, dtype)
        return self._head_t[dtype][1]

    def loss(self, batch: Batch, media_perm: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
        """Next-token cross-entropy over the labelled tokens (`reduction` "mean", "sum" or "none"),
        the head and the loss fused (`model.head`); the same values as cross-entropy of `forward`."""
        h = self.hidden(batch.input_ids, batch.frames, batch.frames_per_media, batch.media_per_sample, media_perm,
                        batch.plan)
        targets = batch.labels.flatten()
        dev = h.device.type
        dtype = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else self.lm.head_weight.dtype
        losses = HeadCrossEntropy.apply(h.flatten(0, 1), self.special_out, self.head_t(dtype),
                                        self.special_ids, targets, self.vocab_size)
        if reduction == "none":
            return losses
        total = losses.sum()
        return total / (targets != -100).sum() if reduction == "mean" else total

    def compile_blocks(self) -> None:
        """`torch.compile` the repeated blocks (LM layers when the LM is ours, xattn, perceiver
        layers) rather than the whole forward, whose Python hooks and data-dependent shapes would
        break the graph."""
        mods = list(self.xattn) + list(self.perceiver.layers) + list(getattr(self.lm, "layers", []))
        for mod in mods:
            mod.compile(dynamic=True)

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """Trainable weights, plus the frozen ones when the backbones are random (tiny)."""
        keep_frozen = self.cfg.lm.kind == "tiny" and self.cfg.vision.kind == "vit"
        names = {n for n, p in self.named_parameters() if p.requires_grad or keep_frozen}
        return {k: v for k, v in self.state_dict().items() if k in names}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        """Inverse of `checkpoint_state`: every trainable weight must be present."""
        res = self.load_state_dict(state, strict=False)
        trainable = {n for n, _ in self.trainable_named_parameters()}
        missing = trainable & set(res.missing_keys)
        if missing or res.unexpected_keys:
            raise KeyError(f"checkpoint mismatch: missing {sorted(missing)}, unexpected {res.unexpected_keys}")


def build_model(cfg: FlamingoConfig, image_id: int, eoc_id: int, lm: nn.Module | None = None) -> Flamingo:
    """Builds the backbones named by `cfg` (or takes a prebuilt `lm`) and wraps them."""
    return Flamingo(cfg, lm if lm is not None else build_lm(cfg.lm), build_vision(cfg.vision), image_id, eoc_id)
