#!/usr/bin/env bash
# One short GPU session: CUDA-vs-CPU parity tests, then CPU-vs-CUDA timings of the
# heavy kernels and the GPU runs of the benchmarks that take --device.
# Run from the repository root on a machine with a CUDA GPU and torch with CUDA:
#   bash benchmarks/gpu_check.sh [OUT_DIR]
# Anchor packages missing there can be installed first from wheels in .whl/
# (tensorly, rsatoolbox, bctpy, igraph, nilearn...). Prints the card, the parity
# result and every ratio; each step has its own time limit so one slow step
# cannot eat the others.
set -uo pipefail
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD"
if [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
# data for the benchmarks that read real recordings (a copy of the shared data folder's files they need)
[ -d .gpudata ] && export NEURODYN_DATA="$PWD/.gpudata"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '', 'cpu threads', torch.get_num_threads())" | tee -a "$out/device.txt"
echo "== parity tests"
timeout 150 "$PY" -m pytest -q -p no:cacheprovider tests/core/test_gpu_parity.py 2>&1 | tee "$out/parity.txt" | tail -15
echo "== gpu_timings"
timeout 200 "$PY" benchmarks/gpu_timings.py 2>&1 | tee "$out/gpu_timings.txt"
for b in connectome_ntf graph_features rnn_step; do
  echo "== $b (cuda)"; timeout 90 "$PY" "benchmarks/$b.py" --device cuda 2>&1 | tee "$out/$b.txt" | tail -12
done
