#!/usr/bin/env bash
# CPU training throughput of the demo's tiny BEiT-3 models (D 64, 2 layers, 4 heads, FFN 256,
# patch 16 at 64 px, batch 32 questions; 28 text tokens per sequence for `choice`, 58 for `joint`:
# the longest sequence of a typical demo batch, to which batches are cut): the train stage's step in Burn
# (NdArray backend) beside the same model and step in PyTorch eager (torchscale), in one run, on
# 1 and 2 threads, both heads. One machine, one run.
#
#   bash benches/train/run.sh          # ~6 min on 2 cores, plus the build
#
# Knobs (environment): PY (/work/venvs/beit3/bin/python: torch 2.15 CPU use + torchscale 0.2.0,
# installed as in tests/fixtures/beit3/README.md), STEPS (20).
# The Rust example is built in the dev profile (dependencies and the model crates are optimised
# there) with debug assertions off for the two model crates. Writes .bench/train-results.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
PY="${PY:-/work/venvs/beit3/bin/python}"
STEPS="${STEPS:-20}"
RESULTS="$REPO/.bench/train-results.md"
mkdir -p "$REPO/.bench"
cd "$REPO"

dev_example pipeline-stages-vqa train_bench beit3

# BATCH EMBED DEPTH HEADS FFN PATCH IMAGE, as pipelines/demo.toml's models; TEXT_LEN per head.
MODEL=(32 64 2 4 256 16 64)
declare -A TEXT_LEN=([choice]=28 [joint]=58)
rate() { sed -n 's/.*questions_per_s=\([0-9.]*\).*/\1/p'; }

rows=""
for head in choice joint; do
  for threads in 1 2; do
    ours=$(RAYON_NUM_THREADS=$threads "$BIN" "$head" "$STEPS" "${MODEL[@]}" "${TEXT_LEN[$head]}" | rate)
    torch=$("$PY" -W ignore "$HERE/torch_bench.py" "$head" "$STEPS" "${MODEL[@]}" "${TEXT_LEN[$head]}" "$threads" \
      | rate)
    ratio=$(python3 -c "print(f'{$torch / $ours:.1f}')")
    rows+="| $head | $threads | $ours | $torch | ${ratio}× |"$'\n'
    echo "$head threads=$threads burn=$ours torch=$torch" >&2
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
  echo "| head | threads | Burn NdArray | PyTorch eager | PyTorch / Burn |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  printf '%s' "$rows"
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$RESULTS"
