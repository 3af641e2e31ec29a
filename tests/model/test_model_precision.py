"""`--precision auto`: bf16 autocast exactly where this machine multiplies bf16 natively."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model import precision
from model.train import main as train_main


def cpu_has_native_bf16() -> bool:
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def test_auto_follows_this_cpus_bf16_capability() -> None:
    bf16, why = precision.resolve("auto", torch.device("cpu"))
    assert bf16 == cpu_has_native_bf16()
    assert why.startswith("auto -> bf16" if bf16 else "auto -> fp32")
    assert torch.backends.cpu.get_cpu_capability() in why


def test_explicit_precisions_win_and_unknown_ones_fail() -> None:
    cpu = torch.device("cpu")
    assert precision.resolve("fp32", cpu)[0] is False
    assert precision.resolve("bf16", cpu)[0] is True
    with pytest.raises(ValueError, match="choose one of auto, fp32, bf16"):
        precision.resolve("fp16", cpu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_auto_on_cuda_follows_its_bf16_support() -> None:
    assert precision.resolve("auto", torch.device("cuda"))[0] == torch.cuda.is_bf16_supported()


def test_training_runs_in_the_precision_auto_picks(toy: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The run says which precision it trains in and why; on this CPU that is the capability's pick."""
    train_main(["--data", f"m3w={toy['m3w']}:1.0", "--steps", "1", "--batch-size", "2", "--device", "cpu",
                "--out", str(tmp_path)])
    header = capsys.readouterr().out.splitlines()[0]
    expected = "bf16" if cpu_has_native_bf16() else "fp32"
    assert f"device cpu; {expected} (auto -> {expected}: " in header
