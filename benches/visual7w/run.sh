#!/usr/bin/env bash
# visual7w benchmark: the `visual7w` stage (Rust, polars) vs the same conversion in pandas, one run.
#
#   bash benches/visual7w/run.sh
#
# Knobs (environment): RUNS=5 (timed runs per tool after one warm-up), BUILD=0 (don't build),
# VENV=$BENCH_VENVS/visual7w (Python venv with pandas + pyarrow; created when missing).
#   (BENCH_VENVS: where the benchmarks keep their Python environments, ~/.cache/pipeline/bench-venvs)
# Data (generated once, deterministic) and outputs live in .bench/visual7w/ (git-ignored); the
# Markdown section goes to .bench/visual7w-results.md and is printed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
WORK="$REPO/.bench/visual7w"
DATA="$WORK/data"
VENV="${VENV:-${BENCH_VENVS:-$HOME/.cache/pipeline/bench-venvs}/visual7w}"
RUNS="${RUNS:-5}"
BUILD="${BUILD:-1}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pandas pyarrow
fi
if [ ! -f "$DATA/.stamp" ] || [ "$HERE/gen_v7w.py" -nt "$DATA/.stamp" ]; then
  rm -rf "$DATA"
  python3 "$HERE/gen_v7w.py" "$DATA" --seed 7
  touch "$DATA/.stamp"
fi
if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && cargo build --release -p pipeline-stages-visual7w --example v7w_convert)
fi
"$VENV/bin/python" "$HERE/bench.py" --rust "$REPO/target/release/examples/v7w_convert" \
  --python "$VENV/bin/python" --data "$DATA" --work "$WORK" --runs "$RUNS" \
  --output "$REPO/.bench/visual7w-results.md"
