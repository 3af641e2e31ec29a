"""Shared fixtures: toy dataset folders (docs/CONTRACTS.md) and a briefly trained tiny run."""
from __future__ import annotations

from pathlib import Path

import model_toydata
import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return model_toydata.build(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def trained_run(toy: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny config trained briefly on toy M3W + ALIGN (80 steps; learns the colours)."""
    from model.train import main

    out = tmp_path_factory.mktemp("run")
    main(["--data", f"m3w={toy['m3w']}:1.0", "--data", f"align={toy['align']}:0.5", "--steps", "80",
          "--lr", "2e-3", "--warmup", "10", "--out", str(out)])
    return out
