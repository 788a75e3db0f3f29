#!/usr/bin/env bash
# One short GPU session: CUDA-vs-CPU parity tests, then each benchmark on the GPU.
# Run from the repository root on a machine with a CUDA GPU and torch with CUDA:
#   bash benchmarks/gpu_check.sh [OUT_DIR]
# Prints the card, the parity test result and every benchmark's ratios.
set -uo pipefail
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
PY="${PYTHON:-python}"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" | tee "$out/device.txt"
"$PY" -m pytest -q tests/core/test_gpu_parity.py 2>&1 | tee "$out/parity.txt" | tail -5
for b in connectome_ntf graph_features rnn_step; do
  echo "== $b (cuda)"; timeout 120 "$PY" "benchmarks/$b.py" --device cuda 2>&1 | tee "$out/$b.txt" | tail -15
done
for b in rsa compare glm_hmm; do
  echo "== $b"; timeout 120 "$PY" "benchmarks/$b.py" 2>&1 | tee "$out/$b.txt" | tail -15
done
