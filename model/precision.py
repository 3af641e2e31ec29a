"""The one place that decides what `--precision auto` means (training, evaluation, benches).

bf16 autocast is the fast path only where the hardware multiplies bf16 natively: CUDA devices
with bf16 support, and CPUs with AVX512-BF16 or AMX tiles (1.35-1.46x faster than fp32 on an
AVX512-BF16 CPU). On other CPUs (AVX2 only) torch emulates bf16 matmuls, about 13x slower than
fp32, so "auto" stays fp32 there.
"""
from __future__ import annotations

import torch

CHOICES = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether `device` multiplies bf16 natively, and the capability that says so."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, f"CUDA {torch.cuda.get_device_name(device)}: bf16 {'supported' if ok else 'not supported'}"
    if device.type == "cpu":
        avx512_bf16, amx = torch.cpu._is_avx512_bf16_supported(), torch.cpu._is_amx_tile_supported()
        found = [name for name, ok in (("AVX512-BF16", avx512_bf16), ("AMX", amx)) if ok]
        cap = torch.backends.cpu.get_cpu_capability()
        if found:
            return True, f"CPU has {' and '.join(found)} (torch CPU capability {cap})"
        return False, f"CPU has neither AVX512-BF16 nor AMX (torch CPU capability {cap}): bf16 matmuls are emulated"
    return False, f"device {device.type}: fp32 by default"


def resolve(precision: str, device: torch.device) -> tuple[bool, str]:
    """(bf16 autocast?, why) for a `--precision` value on `device`."""
    if precision not in CHOICES:
        raise ValueError(f"precision {precision!r}: choose one of {', '.join(CHOICES)}")
    if precision != "auto":
        return precision == "bf16", f"--precision {precision}"
    ok, why = native_bf16(device)
    return ok, f"auto -> {'bf16' if ok else 'fp32'}: {why}"
