# Shared by the GPU scripts (scripts/gpu_check.sh, scripts/gpu_step.sh); source it after setting
# OUT, PY and DEADLINE. Unpacks what scripts/gpu_pack.sh packed into .gpu/, points Burn's CUDA
# backend at an NVRTC (PyTorch's wheels hold one when the host has no toolkit) and defines
# `record` (a line into $RESULTS) and `measure` (a command under a time limit, with its peak GPU
# memory).
mkdir -p "$OUT" .gpu/bin
RESULTS="$OUT/results.txt"
: > "$RESULTS"
# Unpacks with Python's lzma when the host has no xz.
unxz_to() { "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
for f in .gpu/pipeline.xz .gpu/train_bench.xz .gpu/device_parity.xz .gpu/attention_bench.xz; do
  [ -e "$f" ] && unxz_to "$f" ".gpu/bin/$(basename "$f" .xz)"
done
chmod +x .gpu/bin/* 2>/dev/null
[ -d .gpu/py/torchscale ] || { mkdir -p .gpu/py && unxz_to .gpu/py.tar.xz .gpu/py.tar && tar -xf .gpu/py.tar -C .gpu/py; }
export PYTHONPATH="$PWD/.gpu/py${PYTHONPATH:+:$PYTHONPATH}"
export BEIT3_FIXTURES="$PWD/tests/fixtures/beit3"
# Burn's CUDA backend compiles its kernels at run time with NVRTC and the CUDA headers. Without a
# toolkit (/usr/local/cuda), PyTorch's own CUDA wheels hold both: use that tree.
if [ -z "${CUDA_PATH:-}" ] && [ ! -d /usr/local/cuda ]; then
  nvrtc=$("$PY" -c 'import glob, os, sys
hits = [h for p in sys.path for h in glob.glob(os.path.join(p, "nvidia", "**", "libnvrtc.so*"), recursive=True)]
print(hits[0] if hits else "")')
  [ -n "$nvrtc" ] && export CUDA_PATH="$(dirname "$(dirname "$nvrtc")")"
fi
[ -n "${CUDA_PATH:-}" ] && export LD_LIBRARY_PATH="$CUDA_PATH/lib:$CUDA_PATH/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}" | tee -a "$OUT/env.txt"
ls "${CUDA_PATH:-/usr/local/cuda}/include/cuda_bf16.h" "${CUDA_PATH:-/usr/local/cuda}"/lib*/libnvrtc* 2>&1 | tee -a "$OUT/env.txt"
record() { echo "$*" | tee -a "$RESULTS"; }

# Runs "$@" under a time limit, sampling the GPU's used memory every 100 ms; records
# `<label> <last output line> peak_used_mib=<max minus the idle reading>`.
measure() {
  local label=$1 limit=$2; shift 2
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 20 ]; then record "$label skipped: ${left}s left before the deadline"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  local idle; idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 100 > "$OUT/mem.$label" &
  local sampler=$!
  local started=$SECONDS
  timeout "$limit" "$@" > "$OUT/log.$label" 2>&1
  local rc=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  local peak; peak=$(sort -n "$OUT/mem.$label" | tail -1)
  local last; last=$(grep -E 'questions_per_s|max_abs_diff|layer_ms' "$OUT/log.$label" | tail -1)
  if [ $rc -ne 0 ]; then
    local why; why=$(grep -m1 -A1 'panicked at' "$OUT/log.$label" | tail -1)
    [ -n "$why" ] || why=$(grep -v '^\s*$' "$OUT/log.$label" | tail -1)
    last="FAILED rc=$rc ($(echo "$why" | cut -c1-240))"
  fi
  record "$label wall_s=$((SECONDS - started)) $last peak_used_mib=$((peak - idle))"
}

# Points CubeCL's compilation and autotune caches into $OUT/cubecl (brought back with the results),
# starting from the autotune results kept in scripts/autotune/<GPU name>/ if any, and logs what it
# compiles and tunes to stderr. CubeCL finds cubecl.toml by walking up from the working directory
# (a malformed file panics); remove it at the end (`rm -f cubecl.toml`).
cubecl_cache() { # GPU_NAME
  CACHE="$(cd "$OUT" && pwd)/cubecl"
  local kept; kept="scripts/autotune/$(echo "$1" | tr -c 'A-Za-z0-9.\n-' '_')"
  mkdir -p "$CACHE/autotune"
  [ -d "$kept" ] && cp -r "$kept/." "$CACHE/autotune/" && record "autotune results from $kept"
  cat > cubecl.toml <<TOML
[compilation]
cache = { file = "$CACHE/compilation" }
logger = { level = "basic", stderr = true }
[autotune]
cache = { file = "$CACHE/autotune" }
logger = { level = "minimal", stderr = true }
TOML
}

# Appends to the last result line what a Burn run's log says: kernels compiled, keys tuned, the
# first and the last step's seconds.
counts() { # LABEL
  local log="$OUT/log.$1"
  record "  $1: kernels_compiled=$(grep -c '\[Compiling kernel\]' "$log") keys_tuned=$(grep -c 'Fastest result' "$log")" \
    "first_step_s=$(sed -n 's/^step=1 seconds=\([0-9.]*\).*/\1/p' "$log")" \
    "last_step_s=$(sed -n 's/^step=[0-9]* seconds=\([0-9.]*\).*/\1/p' "$log" | tail -1)"
}

# Records the date, the GPU (name, driver, memory; also in $OUT/gpu.txt), PyTorch's version and
# whether torchscale (the reference model, packed by gpu_pack.sh) imports, and sets `gpu` to the
# GPU's name.
header() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader -i 0 | tee "$OUT/gpu.txt"
  gpu=$(cut -d, -f1 "$OUT/gpu.txt")
  record "date=$(date -u +%FT%TZ) gpu=$(head -1 "$OUT/gpu.txt")"
  "$PY" -c 'import importlib.util as u, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "torchscale", u.find_spec("torchscale") is not None)' 2>&1 | tee -a "$RESULTS"
}
