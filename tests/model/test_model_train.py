"""Trainer: exact resume, NaN guard, one clip per step, optimizer groups, learning, eval, generate."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import model_toydata
import pytest
import torch

from model.checkpoint import load_run
from model.config import bench
from model.data import DatasetInfo, Decoder, ExampleStream
from model.eval import derangement
from model.eval import main as eval_main
from model.factory import build
from model.generate import complete
from model.train import Dist, Trainer, make_optimizer, warmup_schedule
from model.train import main as train_main

ROOT = Path(__file__).resolve().parents[2]


def args(toy: dict[str, Path], out: Path, steps: int, *extra: str) -> list[str]:
    return ["--data", f"m3w={toy['m3w']}:1.0", "--data", f"align={toy['align']}:0.2",
            "--data", f"vtp={toy['vtp']}:0.03", "--steps", str(steps), "--batch-size", "4",
            "--out", str(out), "--warmup", "2", *extra]


def test_resume_gives_the_same_losses(toy: dict[str, Path], tmp_path: Path) -> None:
    """Stopped at step 4 and resumed to 9 == 9 steps in one go (crossing data epochs)."""
    full = train_main(args(toy, tmp_path / "a", 9, "--ckpt-every", "100"))
    train_main(args(toy, tmp_path / "b", 4, "--ckpt-every", "2"))
    resumed = train_main(args(toy, tmp_path / "b", 9, "--ckpt-every", "100", "--resume"))
    assert [h["losses"] for h in resumed] == [h["losses"] for h in full]
    assert [h["grad_norm"] for h in resumed] == [h["grad_norm"] for h in full]
    assert (tmp_path / "b" / "loss.png").stat().st_size > 0
    assert len((tmp_path / "b" / "metrics.jsonl").read_text().splitlines()) == 9


def make_trainer(toy: dict[str, Path], weights: dict[str, float]):
    torch.manual_seed(0)
    from model.config import tiny
    cfg = tiny()
    tok, model = build(cfg, toy["tokenizer"])
    opt = make_optimizer(model, 1e-3, 0.1)
    trainer = Trainer(model.train(), weights, opt, warmup_schedule(opt, 1), 1.0, Dist())
    batches = {}
    for name in weights:
        info = DatasetInfo.load(toy[name])
        batches[name] = ExampleStream(info, Decoder(info, tok, cfg.vision, 256, 8), seed=0).next_batch(4, tok.eoc_id)
    return trainer, batches


def test_nan_micro_batch_is_dropped_without_losing_the_others(toy: dict[str, Path]) -> None:
    trainer, batches = make_trainer(toy, {"m3w": 1.0, "align": 0.5})
    good, _, _ = trainer.accumulate({"m3w": batches["m3w"]})
    bad = batches["align"]
    bad.frames[:] = float("nan")
    acc, losses, dropped = trainer.accumulate({"m3w": batches["m3w"], "align": bad})
    assert dropped == ["align"] and list(losses) == ["m3w"]
    assert all(torch.equal(a, g) for a, g in zip(acc, good))
    record = trainer.step({"m3w": batches["m3w"], "align": bad})
    assert "grad_norm" in record and all(torch.isfinite(p).all() for p in trainer.params)


def test_gradients_accumulate_weighted_and_clip_once(toy: dict[str, Path]) -> None:
    trainer, batches = make_trainer(toy, {"m3w": 1.0, "align": 0.2})
    gm, _, _ = trainer.accumulate({"m3w": batches["m3w"]})
    ga, _, _ = trainer.accumulate({"align": batches["align"]})
    both, _, _ = trainer.accumulate(batches)
    assert all(torch.allclose(b, m + a, atol=1e-6) for b, m, a in zip(both, gm, ga))
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(b) for b in both])))
    record = trainer.step(batches)
    assert record["grad_norm"] == pytest.approx(norm, rel=1e-4)  # the norm of the sum, clipped once


def test_no_weight_decay_on_perceiver(toy: dict[str, Path]) -> None:
    trainer, _ = make_trainer(toy, {"m3w": 1.0})
    names = {id(p): n for n, p in trainer.model.trainable_named_parameters()}
    for group in trainer.opt.param_groups:
        if group["weight_decay"] > 0:
            assert not any(names[id(p)].startswith("perceiver.") for p in group["params"])
    frozen = [n for n, p in trainer.model.named_parameters() if not p.requires_grad]
    assert any(n.startswith("lm.") for n in frozen) and any(n.startswith("vision.") for n in frozen)
    assert not any(n.startswith("lm.") for n in names.values())


def test_trained_model_uses_the_images(toy: dict[str, Path], trained_run: Path) -> None:
    """After a short run the loss with shuffled images is clearly worse than with the true ones."""
    res = eval_main(["--data", f"m3w={toy['m3w']}", "--data", f"align={toy['align']}", "--ckpt", str(trained_run)])
    assert res["m3w"]["visual_gain"] > 0.05 and res["align"]["visual_gain"] > 0.1
    assert json.loads((trained_run / "eval.json").read_text())["results"]["m3w"] == res["m3w"]


def test_generate_names_the_colour(trained_run: Path) -> None:
    tok, model, _ = load_run(trained_run)
    decoder = Decoder(DatasetInfo("align", [], None, None), tok, model.cfg.vision, 256, 8)
    right = 0
    for colour in model_toydata.COLOURS:
        img = decoder.image(model_toydata.jpeg(colour, random.Random(9))).unsqueeze(0)
        text = complete(model, tok, "<image>", [img], max_new_tokens=6)
        right += colour in text
    assert right >= 2


def test_derangement_has_no_fixed_points() -> None:
    gen = torch.Generator().manual_seed(0)
    for n in range(2, 12):
        p = derangement(n, gen)
        assert sorted(p.tolist()) == list(range(n)) and not (p == torch.arange(n)).any()


def test_bench_config_matches_the_spec() -> None:
    cfg = bench()
    assert (cfg.lm.dim, cfg.lm.n_layers, cfg.lm.n_heads, cfg.lm.ffn_dim, cfg.lm.vocab_size) == (256, 4, 4, 1024, 8197)
    assert (cfg.vision.image_size, cfg.vision.patch, cfg.vision.width, cfg.vision.layers) == (224, 32, 128, 2)
    p = cfg.perceiver
    assert (p.depth, p.num_latents, p.heads, p.head_dim, cfg.xattn_every) == (6, 64, 8, 64, 1)


def test_torchrun_two_processes(toy: dict[str, Path], tmp_path: Path) -> None:
    """DDP on CPU (Gloo): two ranks train and write one checkpoint holding both data positions."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "model.train", *args(toy, tmp_path, 2, "--threads", "1")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, timeout=240)
    ckpt = torch.load(next((tmp_path / "checkpoints").glob("*.pt")), weights_only=False)
    assert ckpt["step"] == 2 and len(ckpt["data"]) == 2


def test_post_image_mask_covers_the_text_after_each_image() -> None:
    from model.eval import post_image_mask
    I, E = 3, 4  # ids: text 10.. ; window "t <EOC> <image> a b c <EOC> t <image> d e"
    ids = torch.tensor([[10, E, I, 11, 12, 13, E, 14, I, 15, 16]])
    labels = torch.cat([ids[:, 1:], torch.tensor([[-100]])], 1)
    labels[labels == I] = -100
    got = post_image_mask(ids, labels, I, E, k=2)[0]
    # label position t predicts ids[t + 1]: targets 11, 12 (first 2 after the 1st image), 15, 16
    assert got.nonzero().squeeze(1).tolist() == [2, 3, 8, 9]
    assert post_image_mask(ids, labels, I, E, k=16)[0].nonzero().squeeze(1).tolist() == [2, 3, 4, 8, 9]
