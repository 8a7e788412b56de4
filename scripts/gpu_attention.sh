#!/usr/bin/env bash
# The GPU run of issue 17 (the fused attention, beit3::flash), for a short lease (under 9 minutes,
# most-wanted first):
#   1. parity on CUDA with the fused attention on (it is, on `cuda`): the vqa_tiny fixture in f32
#      and bf16 (device_parity), the same check scripts/gpu_step.sh makes;
#   2. one layer's attention, forward and backward (attention_bench), BEiT-3 at 480 px (965
#      tokens, 64 wide heads, batch 16): large's 16 heads then base's 12 in bf16, large's in f32;
#      Burn's fused, Burn's decomposed, PyTorch eager (torchscale's) and PyTorch's fused SDPA
#      (benches/train/torch_attention.py); time per layer and peak GPU memory;
#   3. whole training steps, bf16, batch 16, 480 px, joint head (train_bench): large with the
#      fused attention, PyTorch eager, large with the decomposed one (expected not to fit: about
#      96 GiB of scores by hand); then base likewise.
# Every Burn line is followed by the kernels compiled and keys tuned, and the first and last
# step's seconds (STEP_LOG=1).
#
# Prepare on the build machine as for scripts/gpu_check.sh (its cargo build line, then
# `bash scripts/gpu_pack.sh`). On the GPU host, from the repository root:
# `bash scripts/gpu_attention.sh`. Brings back in $OUT (default .gpu/out): results.txt, the
# logs, and cubecl/ (compilation and autotune caches; keep cubecl/autotune in
# scripts/autotune/<GPU name>/ so later runs start warm).
#
# Knobs: PY (python3 with torch), STEPS (timed calls or steps per run, 10), DEADLINE (seconds,
# 540), GPU (cuda), SKIP (space-separated section numbers to skip).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.gpu/out}"
PY="${PY:-python3}"
STEPS="${STEPS:-10}"
DEADLINE="${DEADLINE:-540}"
GPU="${GPU:-cuda}"
SKIP=" ${SKIP:-} "
source scripts/gpu_lib.sh

header
cubecl_cache "$gpu"

if [[ $SKIP != *" 1 "* ]]; then
  DEVICE=$GPU PRECISION=f32 TOL=1e-2 measure parity_f32 90 .gpu/bin/device_parity
  DEVICE=$GPU PRECISION=bf16 TOL=1 measure parity_bf16 60 .gpu/bin/device_parity
fi

if [[ $SKIP != *" 2 "* ]]; then
  for case in "large 16 bf16" "base 12 bf16" "large 16 f32"; do
    read -r model heads precision <<< "$case"
    args="16 $heads 965 64 $STEPS"
    for fused in 1 0; do
      label="attention_${model}_${precision}_burn_$([ $fused = 1 ] && echo fused || echo decomposed)"
      DEVICE=$GPU PRECISION=$precision FUSED=$fused measure "$label" 90 .gpu/bin/attention_bench $args
      counts "$label"
    done
    for impl in eager sdpa; do
      DEVICE=$GPU PRECISION=$precision IMPL=$impl measure "attention_${model}_${precision}_torch_$impl" 60 \
        "$PY" -W ignore benches/train/torch_attention.py $args
    done
  done
fi

if [[ $SKIP != *" 3 "* ]]; then
  export VOCAB=64010
  declare -A SIZE=([base]="768 12 12 3072 16" [large]="1024 24 16 4096 16")
  for model in large base; do
    args="joint 5 16 ${SIZE[$model]} 480 64"
    STEP_LOG=1 DEVICE=$GPU PRECISION=bf16 FUSED=1 measure "train_${model}_b16_burn_fused" 150 .gpu/bin/train_bench $args
    counts "train_${model}_b16_burn_fused"
    DEVICE=$GPU PRECISION=bf16 measure "train_${model}_b16_torch_eager" 90 \
      "$PY" -W ignore benches/train/torch_bench.py $args 8
    STEP_LOG=1 DEVICE=$GPU PRECISION=bf16 FUSED=0 measure "train_${model}_b16_burn_decomposed" 120 .gpu/bin/train_bench $args
    counts "train_${model}_b16_burn_decomposed"
  done
fi
rm -f cubecl.toml
du -sh "$CACHE"/* 2>/dev/null | tee -a "$RESULTS"
echo "total_s=$SECONDS" | tee -a "$RESULTS"
