#!/usr/bin/env bash
# The reliability loops of issue 13, run on the real binary:
#   sigkill:  N runs of a small pipeline (a slow stage, a matrix, a folder output, two publish
#             stages), each engine SIGKILLed at a random moment (only the engine's pid), then a
#             rerun that must exit 0 with the right published results, `cache verify` clean and
#             no `results/.*tmp*` leftovers. Also counts the stage processes still alive after the
#             kill (they should die with the engine).
#   concurrent-2, concurrent-4:  R rounds of 2 and 4 `pipeline run` at once on one project and
#             cache (a new seed each round): every process exits 0, every stage is computed once
#             per key, the results are right and `cache verify` is clean.
# Prints one summary line per loop and exits 1 if any loop had a failure.
#
#   benches/reliability/run.sh            # full: 100 kills, 25 rounds of each
#   benches/reliability/run.sh --short    # CI: 10 kills, 5 rounds of each
#   benches/reliability/run.sh --kills 50 --rounds 10
# The binary: $PIPELINE_BIN, else target/debug/pipeline (`cargo build -p pipeline`).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
here="$(cd "$(dirname "$0")" && pwd)"

kills=100 rounds=25
while [ $# -gt 0 ]; do
  case $1 in
    --short) kills=10 rounds=5 ;;
    --kills) kills=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [--short] [--kills N] [--rounds R]" >&2; exit 2 ;;
  esac
  shift
done
pipeline_bin
export CI=1 PIPELINE_NO_PROGRESS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$here/checks.sh"

echo "reliability: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), $BIN"
failed=0
sigkill_loop "$kills" || failed=1
concurrent_loop 2 "$rounds" || failed=1
concurrent_loop 4 "$rounds" || failed=1
exit $failed
