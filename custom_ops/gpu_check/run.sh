#!/usr/bin/env bash
# One call on a GPU machine (no TensorFlow needed): GPU facts, the oracle check and the timing
# of run_gpu_check.py, then its small cases again under compute-sanitizer's memcheck.
#   bash custom_ops/gpu_check/run.sh        # logs under $OUT (default custom_ops/build/gpu_check)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-custom_ops/build/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PYTHON=${PYTHON:-python3}
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,memory.total \
    --format=csv; nvcc --version | tail -2; } > "$OUT/machine.txt" 2>&1
"$PYTHON" custom_ops/gpu_check/run_gpu_check.py --out "$OUT"
status=$?
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 3 "$PYTHON" \
    custom_ops/gpu_check/run_gpu_check.py --small-only --out "$OUT/sanitize" \
    > "$OUT/sanitize.log" 2>&1
  echo "compute-sanitizer memcheck (small cases): exit status $?"
  tail -n 3 "$OUT/sanitize.log"
fi
cat "$OUT/machine.txt"
tail -n 10 "$OUT/gpu_check.log"
exit $status
