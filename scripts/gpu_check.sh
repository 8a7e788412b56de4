#!/usr/bin/env bash
# The GPU checks of issue 7, for a GPU host with no network, in one run of under 8 minutes:
#   1. CPU-vs-GPU parity: the BEiT-3 parity fixture on CUDA, f32 (logits within 1e-3 of torchscale)
#      and bf16 mixed precision;
#   2. the demo pipeline with every stage on `cuda`;
#   3. training-step throughput and peak GPU memory, base and large at 480 px, batch 16 and 32,
#      bf16, random weights: Burn beside PyTorch eager and torch.compile (torchscale 0.2.0 plus
#      the VQA head, benches/train/torch_bench.py) on the same GPU in the same run;
#   4. prediction throughput likewise.
#
# Prepare on the build machine (no toolkit needed; CUDA 13.0 driver on the GPU host):
#   CUDARC_CUDA_VERSION=13000 cargo build --release --locked -p pipeline -p pipeline-stages-vqa \
#     --features pipeline/cuda,pipeline-stages-vqa/cuda --bin pipeline --example train_bench --example device_parity --example attention_bench
#   bash scripts/gpu_pack.sh            # binaries and torchscale into .gpu/ (git-ignored)
# then on the GPU host, from the repository root:
#   bash scripts/gpu_check.sh           # results in $OUT (default .gpu/out): results.txt, logs
#
# Knobs: PY (python3 with torch), STEPS (timed steps per throughput run, 5), SKIP (space-separated
# section numbers to skip), DEADLINE (seconds, 470), GPU (the device the binaries use, cuda),
# MODELS ("large base"), BURN_LIMIT (seconds per Burn throughput run, 150).
# Every step has its own time limit, cut to what is left before the deadline; a step that cannot
# start in time is recorded as skipped. The steps run most-wanted first.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.gpu/out}"
PY="${PY:-python3}"
STEPS="${STEPS:-5}"
SKIP=" ${SKIP:-} "
DEADLINE="${DEADLINE:-470}"
GPU="${GPU:-cuda}"
source scripts/gpu_lib.sh

header

if [[ $SKIP != *" 1 "* ]]; then
  for precision in f32 bf16; do
    tol=1e-3; [ $precision = bf16 ] && tol=1
    DEVICE=$GPU PRECISION=$precision TOL=$tol measure "parity_$precision" 120 .gpu/bin/device_parity
    grep max_abs_diff "$OUT/log.parity_$precision" >> "$RESULTS"
  done
fi

# MODEL sizes: EMBED DEPTH HEADS FFN PATCH; the joint head (one sequence of 64 text tokens per
# question after the 901 image tokens), the official vocabulary of 64010.
MODELS="${MODELS:-large base}"
BURN_LIMIT="${BURN_LIMIT:-150}"
declare -A SIZE=([base]="768 12 12 3072 16" [large]="1024 24 16 4096 16")
export VOCAB=64010
bench() { # MODE MODEL BATCH
  local mode=$1 model=$2 batch=$3 args
  args="joint $STEPS $batch ${SIZE[$model]} 480 64"
  MODE=$mode DEVICE=$GPU PRECISION=bf16 measure "${mode}_${model}_b${batch}_burn" "$BURN_LIMIT" .gpu/bin/train_bench $args
  MODE=$mode DEVICE=$GPU PRECISION=bf16 measure "${mode}_${model}_b${batch}_torch_eager" 90 \
    "$PY" -W ignore benches/train/torch_bench.py $args 8
  MODE=$mode DEVICE=$GPU PRECISION=bf16 COMPILE=1 measure "${mode}_${model}_b${batch}_torch_compile" 150 \
    "$PY" -W ignore benches/train/torch_bench.py $args 8
}
[[ $SKIP == *" 3 "* ]] || for model in $MODELS; do bench train $model 16; done
[[ $SKIP == *" 4 "* ]] || for model in $MODELS; do bench predict $model 32; done
if [[ $SKIP != *" 2 "* ]]; then
  sed 's/^device = "cpu"/device = "cuda"/' pipelines/demo.toml > .gpu/demo_gpu.toml
  measure demo_cuda 150 .gpu/bin/pipeline run .gpu/demo_gpu.toml --cache-dir .gpu/cache
  grep -iE "accuracy|overall" "$OUT/log.demo_cuda" | tail -3 >> "$RESULTS"
fi

[[ $SKIP == *" 3 "* ]] || for model in $MODELS; do bench train $model 32; done
echo "total_s=$SECONDS" | tee -a "$RESULTS"
