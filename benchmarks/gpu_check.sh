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
echo "== NTF on CUDA: fixed cost vs per-iteration cost (size M)"
timeout 60 "$PY" - <<'PY' 2>&1 | tee "$out/ntf_overhead.txt"
import time
import numpy as np
import torch
from neurodyn.connectome import NonnegativeCP
x = np.random.default_rng(0).random((7140, 159, 10))
for dt in ("float64", "float32"):
    res = []
    for it in (8, 88):
        m = NonnegativeCP(10, max_iter=it, tol=0, device="cuda", dtype=dt, random_state=0)
        m.fit(x); torch.cuda.synchronize()
        t = time.perf_counter(); m.fit(x); torch.cuda.synchronize(); res.append(time.perf_counter() - t)
    per = (res[1] - res[0]) / 80
    print(f"NTF (7140, 159, 10) R=10 {dt} on cuda: fit with 8 iterations {res[0] * 1e3:.1f} ms = "
          f"{res[0] * 1e3 - 8 * per * 1e3:.1f} ms fixed + {per * 1e3:.2f} ms per iteration")
PY
