#!/usr/bin/env bash
# The GPU run of issue 14, for a short lease (under 9 minutes, most-wanted first): what the first
# training step costs (CubeCL's kernel compilation and autotuning) apart from what later steps run
# at, cold then warm, beside PyTorch eager on the same card in the same run, and f32 parity on
# CUDA read against PyTorch with TF32 allowed and disallowed.
#   1. parity: the vqa_tiny fixture on Burn's CUDA backend in f32 (CubeCL switches f32 products
#      to TF32 on tensor cores, with no setting to turn that off) and bf16, and the same fixture
#      in PyTorch on this GPU with TF32 on and off (scripts/tf32_parity.py): Burn's f32 line is
#      to be read against PyTorch's TF32 line;
#   2. base at 480 px, batch 16, bf16, joint head: cold (empty kernel cache; the autotune results
#      kept in the repository for this GPU model, if any), then warm (the caches the cold run
#      filled), then PyTorch eager with the same shapes;
#   3. large once (kernels shared with base come from the cache), then PyTorch eager.
# Every Burn run logs each step's seconds after a device sync (STEP_LOG=1): step 1 is the time to
# the first step, the last the steady state; and CubeCL's compilation and autotune loggers, so
# results.txt holds the kernels compiled and keys tuned per run.
#
# Prepare as for scripts/gpu_check.sh (CUDA build of train_bench and device_parity, gpu_pack.sh).
# Brings back in $OUT: results.txt, the logs, and cubecl/ (the compilation and autotune caches).
# Keep $OUT/cubecl/autotune in scripts/autotune/<GPU name>/ so that later runs start warm.
#
# Knobs: PY (python3 with torch), STEPS (timed steps per run, 10), DEADLINE (seconds, 530),
# GPU (cuda), BURN_LIMIT (seconds per Burn run, 170).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.gpu/out}"
PY="${PY:-python3}"
STEPS="${STEPS:-10}"
DEADLINE="${DEADLINE:-530}"
GPU="${GPU:-cuda}"
BURN_LIMIT="${BURN_LIMIT:-170}"
source scripts/gpu_lib.sh

header
cubecl_cache "$gpu"

DEVICE=$GPU PRECISION=f32 TOL=1e-2 measure parity_f32 90 .gpu/bin/device_parity
DEVICE=$GPU PRECISION=bf16 TOL=1 measure parity_bf16 60 .gpu/bin/device_parity
grep max_abs_diff "$OUT"/log.parity_* >> "$RESULTS"
measure tf32_torch 60 "$PY" -W ignore scripts/tf32_parity.py
grep tf32= "$OUT/log.tf32_torch" >> "$RESULTS"

export VOCAB=64010
declare -A SIZE=([base]="768 12 12 3072 16" [large]="1024 24 16 4096 16")
for model in base large; do
  args="joint $STEPS 16 ${SIZE[$model]} 480 64"
  runs="first"; [ $model = base ] && runs="cold warm"
  for run in $runs; do
    STEP_LOG=1 DEVICE=$GPU PRECISION=bf16 measure "train_${model}_b16_burn_$run" "$BURN_LIMIT" .gpu/bin/train_bench $args
    counts "train_${model}_b16_burn_$run"
  done
  DEVICE=$GPU PRECISION=bf16 measure "train_${model}_b16_torch_eager" 90 \
    "$PY" -W ignore benches/train/torch_bench.py $args 8
done
rm -f cubecl.toml
du -sh "$CACHE"/* 2>/dev/null | tee -a "$RESULTS"
echo "total_s=$SECONDS" | tee -a "$RESULTS"
