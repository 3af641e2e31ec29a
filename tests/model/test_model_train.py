"""Trainer: exact resume, NaN guard, one clip per step, optimizer groups, learning, eval, generate."""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import model_toydata
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from model.checkpoint import load_run
from model.config import bench
from model.data import DatasetInfo, Decoder, ExampleStream
from model.eval import derangement
from model.eval import main as eval_main
from model.factory import build
from model.generate import complete
from model.train import Dist, Trainer, broadcast_model, make_optimizer, warmup_schedule
from model.train import main as train_main

ROOT = Path(__file__).resolve().parents[2]


def args(toy: dict[str, Path], out: Path, steps: int, *extra: str) -> list[str]:
    return ["--data", f"m3w={toy['m3w']}:1.0", "--data", f"align={toy['align']}:0.2",
            "--data", f"vtp={toy['vtp']}:0.03", "--steps", str(steps), "--batch-size", "4",
            "--out", str(out), "--warmup", "2", *extra]


def test_resume_gives_the_same_losses(toy: dict[str, Path], tmp_path: Path) -> None:
    """Stopped at step 4 and resumed to 9 == 9 steps in one go (crossing data epochs), the
    interrupted run decoding in DataLoader worker processes."""
    full = train_main(args(toy, tmp_path / "a", 9, "--ckpt-every", "100"))
    train_main(args(toy, tmp_path / "b", 4, "--ckpt-every", "2", "--workers", "2"))
    resumed = train_main(args(toy, tmp_path / "b", 9, "--ckpt-every", "100", "--resume", "--workers", "1"))
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


def test_ff_gate_hold_keeps_feed_forward_gates_at_zero_then_releases_them(toy: dict[str, Path]) -> None:
    trainer, batches = make_trainer(toy, {"m3w": 1.0})
    trainer.sched = warmup_schedule(trainer.opt, 1, ff_gate_hold=2)
    model = trainer.model
    for _ in range(2):
        trainer.step(batches)
    assert all(float(b.ff_gate.detach()) == 0.0 for b in model.xattn)
    assert any(float(b.attn_gate.detach()) != 0.0 for b in model.xattn)
    trainer.step(batches)
    assert all(float(b.ff_gate.detach()) != 0.0 for b in model.xattn)


def test_nan_micro_batch_is_dropped_without_losing_the_others(toy: dict[str, Path]) -> None:
    trainer, batches = make_trainer(toy, {"m3w": 1.0, "align": 0.5})
    good, _, _ = trainer.gradients({"m3w": batches["m3w"]})
    bad = batches["align"]
    bad.frames[:] = float("nan")
    acc, _, kept = trainer.gradients({"m3w": batches["m3w"], "align": bad})
    assert {n: bool(k) for n, k in kept.items()} == {"m3w": True, "align": False}
    assert all(torch.equal(a, g) for a, g in zip(acc, good))
    record = trainer.step({"m3w": batches["m3w"], "align": bad})
    assert record["dropped"] == ["align"] and list(record["losses"]) == ["m3w"]
    assert "grad_norm" in record and all(torch.isfinite(p).all() for p in trainer.params)
    record = trainer.step({"align": bad})
    assert record.get("skipped") and record["dropped"] == ["align"]


def test_gradients_make_no_host_syncs(toy: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """No tensor is read back to the host while gradients accumulate (the NaN guard is a device
    flag); the batches' media plans were built by collate on the CPU."""
    trainer, batches = make_trainer(toy, {"m3w": 1.0, "align": 0.5, "vtp": 0.1})
    reads: list[str] = []
    for name in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist"):
        orig = getattr(torch.Tensor, name)

        def spy(self, *a, _orig=orig, _name=name, **k):
            reads.append(_name)
            return _orig(self, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, spy)
    trainer.gradients(batches)
    monkeypatch.undo()
    assert reads == []


def test_gradients_accumulate_weighted_and_clip_once(toy: dict[str, Path]) -> None:
    trainer, batches = make_trainer(toy, {"m3w": 1.0, "align": 0.2})
    gm, _, _ = trainer.gradients({"m3w": batches["m3w"]})
    ga, _, _ = trainer.gradients({"align": batches["align"]})
    both, _, _ = trainer.gradients(batches)
    assert all(torch.allclose(b, m + a, atol=1e-6) for b, m, a in zip(both, gm, ga))
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(b) for b in both])))
    record = trainer.step(batches)
    assert record["grad_norm"] == pytest.approx(norm, rel=1e-4)  # the norm of the sum, clipped once


def test_weight_decay_only_on_xattn_matrices(toy: dict[str, Path]) -> None:
    """No decay on the perceiver, the gates, norms or the `<image>`/`<EOC>` embedding rows."""
    trainer, _ = make_trainer(toy, {"m3w": 1.0})
    names = {id(p): n for n, p in trainer.model.trainable_named_parameters()}
    decayed = {names[id(p)] for g in trainer.opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed and all(n.startswith("xattn.") and not n.endswith("_gate") for n in decayed)
    assert {"special_in", "special_out"} <= set(names.values()) - decayed
    frozen = [n for n, p in trainer.model.named_parameters() if not p.requires_grad]
    assert any(n.startswith("lm.") for n in frozen) and any(n.startswith("vision.") for n in frozen)
    assert not any(n.startswith("lm.") for n in names.values())


def test_trained_model_uses_the_images(toy: dict[str, Path], trained_run: Path) -> None:
    """After a short run the loss with shuffled images is clearly worse than with the true ones."""
    res = eval_main(["--data", f"m3w={toy['m3w']}", "--data", f"align={toy['align']}", "--ckpt", str(trained_run)])
    assert res["m3w"]["visual_gain"] > 0.05 and res["align"]["visual_gain"] > 0.1
    assert json.loads((trained_run / "eval.json").read_text())["results"]["m3w"] == res["m3w"]


def test_gain_is_split_by_word_class(toy: dict[str, Path], trained_run: Path) -> None:
    """On the toy data only the colour words after an image depend on it: they carry the gain."""
    res = eval_main(["--data", f"m3w={toy['m3w']}", "--ckpt", str(trained_run),
                     "--word-class", "colour=red,green,blue"])["m3w"]
    g = res["groups"]
    assert set(g) == {"all", "post_image", "all/colour", "post_image/colour", "all/other", "post_image/other"}
    assert g["post_image/colour"]["tokens"] + g["post_image/other"]["tokens"] == g["post_image"]["tokens"]
    assert g["post_image/colour"]["gain"] > 5 * g["post_image/colour"]["se"]
    assert g["post_image/colour"]["gain"] > 5 * abs(g["post_image/other"]["gain"])
    assert res["documents"] <= res["windows"]


def test_word_class_marks_whole_words(toy: dict[str, Path]) -> None:
    from model.eval import word_class_tokens
    from model.tokenizer import SPTokenizer
    tok = SPTokenizer(toy["tokenizer"])
    ids = tok.encode("Look at the next one.<EOC><image>A red square. We took these photos.<EOC>")
    flags = word_class_tokens(tok, ids, {"red", "square", "photos"})
    marked = "".join(tok.decode([i]) for i, f in zip(ids, flags) if f)
    assert re.sub(r"[\s.]", "", marked) == "redsquarephotos"


def test_standard_error_is_over_documents() -> None:
    """Two windows of the same document are one sample: duplicating every document's window does
    not shrink the standard error, while as independent windows it would."""
    from model.eval import _gain
    diff, count = torch.tensor([1.0, 3.0, 2.0, 0.0, 5.0]), torch.tensor([10.0, 12.0, 8.0, 10.0, 9.0])
    docs = ["a", "b", "c", "d", "e"]
    g1, se1 = _gain(diff, count, docs)
    g2, se2 = _gain(diff.repeat(2), count.repeat(2), docs * 2)
    _, se_windows = _gain(diff.repeat(2), count.repeat(2), [f"{d}{i}" for i in range(2) for d in docs])
    assert g2 == pytest.approx(g1) and se2 == pytest.approx(se1)
    assert se_windows < 0.8 * se1


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


def _ddp_worker(rank: int, store: str, toy: dict[str, Path], out: str) -> None:
    """One of two Gloo ranks: differently seeded models, broadcast, rank 1's ALIGN batch is NaN."""
    from model.config import tiny
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    torch.set_num_threads(1)
    torch.manual_seed(rank)  # the ranks initialise differently on purpose
    cfg = tiny()
    tok, model = build(cfg, toy["tokenizer"])
    broadcast_model(model, Dist(rank, 2))
    weights = {"m3w": 1.0, "align": 0.5}
    batches = {}
    for name in weights:
        info = DatasetInfo.load(toy[name])
        stream = ExampleStream(info, Decoder(info, tok, cfg.vision, 256, 8), seed=0, rank=rank, world=2)
        batches[name] = stream.next_batch(4, tok.eoc_id)
    if rank == 1:
        batches["align"].frames[:] = float("nan")
    opt = make_optimizer(model, 1e-3, 0.1)
    sched = warmup_schedule(opt, 1)
    acc, _, _ = Trainer(model.train(), weights, opt, sched, 1.0, Dist(rank, 2)).gradients(batches)
    local = Trainer(model, weights, opt, sched, 1.0, Dist())
    per = {n: local.gradients({n: b})[0] for n, b in batches.items()}
    got: list = [None, None]
    dist.all_gather_object(got, {"state": model.checkpoint_state(), "per": per, "acc": acc})
    if rank == 0:
        torch.save(got, out)
    dist.destroy_process_group()


def test_ddp_broadcasts_weights_and_averages_each_dataset_over_the_ranks_that_kept_it(
        toy: dict[str, Path], tmp_path: Path) -> None:
    """Rank 1 drops its ALIGN micro-batch: ALIGN's gradient is rank 0's alone (not halved), M3W's
    the mean of both ranks; every rank ends with the same gradient and starts from rank 0's weights."""
    out = tmp_path / "ranks.pt"
    mp.spawn(_ddp_worker, args=(str(tmp_path / "store"), toy, str(out)), nprocs=2)
    r0, r1 = torch.load(out, weights_only=False)
    assert r0["state"].keys() == r1["state"].keys()
    assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"])
    assert not any(torch.equal(a, b) for a, b in zip(r0["per"]["m3w"], r1["per"]["m3w"]) if a.abs().sum() > 0)
    for a0, a1, m0, m1, al0 in zip(r0["acc"], r1["acc"], r0["per"]["m3w"], r1["per"]["m3w"], r0["per"]["align"]):
        torch.testing.assert_close(a0, a1)
        torch.testing.assert_close(a0, (m0 + m1) / 2 + al0, atol=1e-6, rtol=1e-5)
    assert all(torch.isfinite(a).all() for a in r0["acc"])


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


def test_eval_scores_a_kept_checkpoint_by_step(toy: dict[str, Path], tmp_path: Path) -> None:
    """`--keep-ckpts` keeps every checkpoint asked for, `model.eval --step` scores that one into its
    own file, and a step that was not kept is a one-line error naming the kept ones."""
    out = tmp_path / "run"
    train_main(args(toy, out, 6, "--ckpt-every", "2", "--keep-ckpts", "3"))
    assert sorted(p.name for p in (out / "checkpoints").glob("*.pt")) == [
        "step-0000002.pt", "step-0000004.pt", "step-0000006.pt"]
    eval_main(["--data", f"m3w={toy['m3w']}", "--ckpt", str(out), "--step", "2", "--max-batches", "1"])
    assert json.loads((out / "eval-step-2.json").read_text())["step"] == 2
    assert not (out / "eval.json").exists()
    with pytest.raises(SystemExit, match=r"--step 3: .*kept: 2, 4, 6"):
        eval_main(["--data", f"m3w={toy['m3w']}", "--ckpt", str(out), "--step", "3"])
