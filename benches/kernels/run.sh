#!/usr/bin/env bash
# What a GPU pays before its first training step: how many distinct kernels CubeCL compiles and
# how many autotune keys it tunes for the train stage's step (forward, loss, backward, clipping,
# AdamW), counted with CubeCL's compilation and autotune loggers on Burn's WebGPU backend over
# Mesa's lavapipe (fusion and autotune on, as on CUDA, where each kernel is an NVRTC compilation).
# The demo's model, and BEiT-3 large's real shapes (D 1024, 16 heads, FFN 4096, 901 image + 64 text
# tokens at 480 px) at depth 2 and batch 1: the count does not grow with depth.
#
#   bash benches/kernels/run.sh        # needs mesa-vulkan-drivers + libvulkan1; ~N min on 2 cores
#
# Knobs: SIZES ("demo large2"), STEPS (timed steps after the first, 2). Writes
# .bench/kernels-results.md and the raw logs in .bench/kernels/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
SIZES="${SIZES:-demo large2}"
STEPS="${STEPS:-2}"
WORK="$REPO/.bench/kernels"
RESULTS="$REPO/.bench/kernels-results.md"
mkdir -p "$WORK"
cd "$REPO"
FEATURES=wgpu dev_example pipeline-stages-vqa train_bench beit3

# HEAD BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN (and VOCAB), per size.
declare -A ARGS=([demo]="joint 32 64 2 4 256 16 64 58" [large2]="joint 1 1024 2 16 4096 16 480 64")
# large2's vocabulary is cut to 2000: lavapipe cannot allocate the 262 MB text embedding of the
# official 64010 (over its buffer size limit), and the gather's kernel does not depend on its size.
declare -A VOCABS=([demo]=2000 [large2]=2000)

# One run in a fresh folder whose cubecl.toml logs every compilation and tuned key to stderr, with
# empty compilation and autotune caches there (nothing is reused from an earlier run).
count() { # SIZE
  local size=$1 dir="$WORK/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  cat > "$dir/cubecl.toml" <<TOML
[compilation]
logger = { level = "basic", stderr = true }
[autotune]
logger = { level = "minimal", stderr = true }
cache = { file = "$dir/autotune-cache" }
TOML
  read -r head batch rest <<< "${ARGS[$size]}"
  local started=$SECONDS
  (cd "$dir" && DEVICE=wgpu STEP_LOG=1 VOCAB=${VOCABS[$size]} "$BIN" "$head" "$STEPS" "$batch" $rest \
    > "$dir/out.txt" 2> "$dir/log.txt")
  local wall=$((SECONDS - started))
  # Kernels compiled and keys tuned up to the end of the first step, and in all.
  local first_kernels first_keys kernels keys
  first_kernels=$(sed '/^step=1 /q' "$dir/log.txt" | grep -c '^\[Compiling kernel\]' || true)
  first_keys=$(sed '/^step=1 /q' "$dir/log.txt" | grep -c 'Fastest result' || true)
  kernels=$(grep -c '^\[Compiling kernel\]' "$dir/log.txt" || true)
  keys=$(grep -c 'Fastest result' "$dir/log.txt" || true)
  local first_s; first_s=$(sed -n 's/^step=1 seconds=\([0-9.]*\).*/\1/p' "$dir/log.txt")
  local later_s; later_s=$(sed -n 's/^step=\([2-9]\|[1-9][0-9]\) seconds=\([0-9.]*\).*/\2/p' "$dir/log.txt" | tail -1)
  local kinds; kinds=$(grep '^\[Compiling kernel\]' "$dir/log.txt" | sed 's/^\[Compiling kernel\] *//' \
    | sed 's/.*:://' | sort | uniq -c | sort -rn | head -8 | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
  echo "| $size | $first_kernels | $first_keys | $kernels | $keys | $first_s | $later_s | $wall | $kinds |"
}

rows=""
for size in $SIZES; do
  row=$(count "$size")
  echo "$row" >&2
  rows+="$row"$'\n'
done

{
  echo "## Kernels compiled and autotune keys tuned per training step ($(date -u +%Y-%m-%d), $(machine))"
  echo
  echo "Burn 0.21 WebGPU backend (CubeCL 0.10, fusion + autotune) over $(vulkaninfo --summary 2>/dev/null | sed -n 's/^\s*deviceName *= *//p' | head -1 || echo lavapipe),"
  echo "the train stage's step in f32 (train_bench, joint head), empty caches. \`demo\`: $(echo "${ARGS[demo]}" | cut -d' ' -f2-);"
  echo "\`large2\`: BEiT-3 large's layer shapes at depth 2 ($(echo "${ARGS[large2]}" | cut -d' ' -f2-), vocabulary 2000)."
  echo "Arguments: BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN. Command: \`bash benches/kernels/run.sh\`."
  echo
  echo "| model | kernels, step 1 | tuned keys, step 1 | kernels, $((STEPS + 1)) steps | tuned keys, $((STEPS + 1)) steps | step 1 s | last step s | run s | most compiled kernels |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  printf '%s' "$rows"
} | tee "$RESULTS"
