"""Step-level checkpoints (model, optimizer, scheduler, data position, RNG) and loading a run."""
from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from model.config import FlamingoConfig
from model.factory import build
from model.flamingo import Flamingo
from model.tokenizer import MarkerTokenizer

_STEP = re.compile(r"step-(\d+)\.pt$")


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dir(out: Path) -> Path:
    return out / "checkpoints"


def save_checkpoint(out: Path, step: int, payload: dict, keep: int = 2) -> Path:
    """Atomically writes `checkpoints/step-N.pt`, keeping the newest `keep` files."""
    d = checkpoint_dir(out)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"step-{step:07d}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    for old in sorted(d.glob("step-*.pt"))[:-keep]:
        old.unlink()
    return path


def latest_checkpoint(out: Path) -> Path | None:
    files = sorted(checkpoint_dir(out).glob("step-*.pt"), key=lambda p: int(_STEP.search(p.name).group(1)))
    return files[-1] if files else None


def load_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def write_run_config(out: Path, cfg: FlamingoConfig, tokenizer_file: Path | None) -> None:
    """`config.json` (+ a copy of the sentencepiece model) so eval/generate can rebuild the model."""
    out.mkdir(parents=True, exist_ok=True)
    tok = None
    if tokenizer_file is not None:
        (out / "tokenizer.model").write_bytes(Path(tokenizer_file).read_bytes())
        tok = "tokenizer.model"
    (out / "config.json").write_text(json.dumps({"model": cfg.to_dict(), "tokenizer": tok}, indent=1))


def step_checkpoint(out: Path, step: int) -> Path:
    """The checkpoint of `step`; a one-line `SystemExit` naming the kept steps when there is none."""
    path = checkpoint_dir(out) / f"step-{step:07d}.pt"
    if not path.exists():
        kept = sorted(int(_STEP.search(p.name).group(1)) for p in checkpoint_dir(out).glob("step-*.pt"))
        raise SystemExit(f"--step {step}: no checkpoint of that step under {checkpoint_dir(out)} "
                         f"(kept: {', '.join(map(str, kept)) or 'none'}; model.train --keep-ckpts keeps more)")
    return path


def load_run(out: Path, device: str = "cpu", step: int | None = None) -> tuple[MarkerTokenizer, Flamingo, dict]:
    """Rebuilds the model of a training run and loads its checkpoint of `step` (default: the latest)."""
    meta = json.loads((out / "config.json").read_text())
    cfg = FlamingoConfig.from_dict(meta["model"])
    tok, model = build(cfg, out / meta["tokenizer"] if meta["tokenizer"] else None)
    path = latest_checkpoint(out) if step is None else step_checkpoint(out, step)
    if path is None:
        raise FileNotFoundError(f"no checkpoint under {checkpoint_dir(out)}")
    ckpt = load_checkpoint(path)
    model.load_checkpoint_state(ckpt["model"])
    return tok, model.to(device).eval(), ckpt
