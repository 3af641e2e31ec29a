#!/usr/bin/env bash
# GPU check of the reference Flamingo, as one short script: the model bench (fp32 / bf16, and
# compiled), fp32 vs bf16 training losses over 200 steps, and a 200-step smol training + eval
# (the `make train-smol` settings).
# On a machine without CUDA it says so and exits 0.
#   bash bench/device_check.sh            (from the repository root; PY=python to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
export PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "device_check: no CUDA device; nothing to check"
  exit 0
fi
"$PY" -c 'import torch; print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__)'
test -f out/m3w/dataset.json || "$PY" -m pipelines.m3w --output out/m3w
OUT=${OUT:-out/device_check}
mkdir -p "$OUT"
echo "== model bench (fwd+bwd, bench config) =="
"$PY" bench/bench_model.py --device cuda --steps 20 --warmup 5 | tee "$OUT/bench.txt"
"$PY" bench/bench_model.py --device cuda --steps 20 --warmup 5 --compile | tee "$OUT/bench_compiled.txt"
echo "== fp32 vs bf16 training losses (tiny, 200 steps) =="
"$PY" bench/bench_precision.py --data out/m3w --steps 200 --device cuda | tee "$OUT/precision.txt"
if "$PY" -c 'import transformers, gguf, efficientnet_lite_pytorch' 2>/dev/null; then
  echo "== smol: 200 steps + eval =="
  "$PY" -m model.train --config smol --data m3w=out/m3w:1.0 --steps 200 --lr 2e-3 --warmup 10 --batch-size 4 \
    --gate-lr-mult 25 --perceiver-lr-mult 0.05 --ff-gate-hold 200 --device cuda --workers 4 --out "$OUT/smol" | tail -n 2
  "$PY" -m model.eval --data m3w=out/m3w --ckpt "$OUT/smol" --device cuda --precision bf16 --word-class sample \
    | tee "$OUT/smol_eval.txt"
else
  echo "smol: packages missing (make install-smol); skipped"
fi
