#!/usr/bin/env bash
# CPU training throughput of the demo's tiny BEiT-3 models (D 64, 2 layers, 4 heads, FFN 256,
# patch 16 at 64 px, batch 32 questions; 28 text tokens per sequence for `choice`, 58 for `joint`:
# the longest sequence of a typical demo batch, to which batches are cut): the train stage's step in Burn
# on both CPU backends (NdArray and Flex, `CPU_BACKEND`) beside the same model and step in PyTorch
# eager (torchscale), in one run, on 1 and 2 threads, both heads. One machine, one run.
#
#   bash benches/train/run.sh          # ~8 min on 2 cores, plus the build
#
# Knobs (environment): PY ($BENCH_VENVS/beit3/bin/python: torch 2.15 CPU use + torchscale 0.2.0,
# installed as in tests/fixtures/beit3/README.md), STEPS (20).
#   (BENCH_VENVS: where the benchmarks keep their Python environments, ~/.cache/pipeline/bench-venvs)
# The Rust example is built in the dev profile (dependencies and the model crates are optimised
# there) with debug assertions off for the two model crates. Writes .bench/train-results.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
PY="${PY:-${BENCH_VENVS:-$HOME/.cache/pipeline/bench-venvs}/beit3/bin/python}"
STEPS="${STEPS:-20}"
RESULTS="$REPO/.bench/train-results.md"
mkdir -p "$REPO/.bench"
cd "$REPO"

dev_example pipeline-stages-vqa train_bench beit3

# BATCH EMBED DEPTH HEADS FFN PATCH IMAGE, as pipelines/demo.toml's models; TEXT_LEN per head.
MODEL=(32 64 2 4 256 16 64)
declare -A TEXT_LEN=([choice]=28 [joint]=58)
rate() { sed -n 's/.*questions_per_s=\([0-9.]*\).*/\1/p'; }
# burn BACKEND: questions/s of the Rust step on CPU backend BACKEND, for the loop's head and threads.
burn() { CPU_BACKEND=$1 RAYON_NUM_THREADS=$threads "$BIN" "$head" "$STEPS" "${MODEL[@]}" "${TEXT_LEN[$head]}" | rate; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}')"; }

rows=""
for head in choice joint; do
  for threads in 1 2; do
    ndarray=$(burn ndarray)
    flex=$(burn flex)
    torch=$("$PY" -W ignore "$HERE/torch_bench.py" "$head" "$STEPS" "${MODEL[@]}" "${TEXT_LEN[$head]}" "$threads" \
      | rate)
    rows+="| $head | $threads | $ndarray | $flex | $torch | $(ratio "$flex" "$ndarray")× | $(ratio "$torch" "$flex")× |"$'\n'
    echo "$head threads=$threads ndarray=$ndarray flex=$flex torch=$torch" >&2
  done
done

torch_version=$("$PY" -c 'import torch, torchscale; print(torch.__version__)' 2>/dev/null)
{
  echo "## CPU training throughput, tiny model ($(date -u +%Y-%m-%d), $(machine))"
  echo
  echo "Questions per second over $STEPS timed steps of batch ${MODEL[0]} (after 3 warm-up steps);"
  echo "\`choice\` runs 4 sequences of ${TEXT_LEN[choice]} tokens per question, \`joint\` one of ${TEXT_LEN[joint]}."
  echo "PyTorch $torch_version eager (torchscale), random inputs of the same shapes in both."
  echo
  echo "| head | threads | Burn NdArray | Burn Flex | PyTorch eager | Flex / NdArray | PyTorch / Flex |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s' "$rows"
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$RESULTS"
