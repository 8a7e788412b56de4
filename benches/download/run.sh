#!/usr/bin/env bash
# Download benchmark: the `download` stage (driven by its `fetch` example, as the engine drives it)
# against curl, wget and Python requests, over loopback from a sendfile-based local server:
#   big: a BIG_MIB MiB random file, downloaded and checked against its SHA-256
#   zip: a zip of ZIP_FILES random files of ZIP_KIB KiB (stored, like JPEGs), downloaded and unpacked
# Loopback takes the network out: this measures each client's own cost (copying, hashing,
# unpacking), which is what remains once the network is fast. One run, one machine.
#
#   bash benches/download/run.sh          # ~2 min on 2 cores, plus the build
#
# Knobs (environment): BIG_MIB=1024 ZIP_FILES=20000 ZIP_KIB=8 REPEAT=3 PORT=18471
#   PY=$BENCH_VENVS/download-bench/bin/python (a Python with requests)
#   (BENCH_VENVS: where the benchmarks keep their Python environments, ~/.cache/pipeline/bench-venvs)
# The example is built in the workspace dev profile (dependencies at opt-level 3) with this crate
# raised to opt-level 3 through `--config`. Data goes to .bench/download/, the Markdown section to
# .bench/download-results.md (also printed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
OUT="$REPO/.bench/download"
BIG_MIB="${BIG_MIB:-1024}" ZIP_FILES="${ZIP_FILES:-20000}" ZIP_KIB="${ZIP_KIB:-8}"
REPEAT="${REPEAT:-3}" PORT="${PORT:-18471}" PY="${PY:-${BENCH_VENVS:-$HOME/.cache/pipeline/bench-venvs}/download-bench/bin/python}"
mkdir -p "$OUT/data" "$OUT/work"
cd "$REPO"

dev_example pipeline-stages-download fetch

python3 "$HERE/gen_data.py" "$OUT/data" "$BIG_MIB" "$ZIP_FILES" "$ZIP_KIB"
python3 "$HERE/serve.py" "$OUT/data" "$PORT" &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1

TABLE="$(python3 "$HERE/bench.py" "$BIN" "$OUT/data" "$OUT/work" "$PORT" "$REPEAT" "$PY")"
{
  echo "## download"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(machine) (shared with other builds: expect noise)"
  echo "- tools: $(curl --version | head -1 | cut -d' ' -f1-2), $(wget --version | head -1 | cut -d' ' -f1-3), $(unzip -v | head -1 | cut -d' ' -f1-2), Python $("$PY" -c 'import sys, requests; print(sys.version.split()[0], "+ requests", requests.__version__)')"
  echo "- inputs: big.bin ${BIG_MIB} MiB random; images.zip ${ZIP_FILES} stored files x ${ZIP_KIB} KiB ($(du -m "$OUT/data/images.zip" | cut -f1) MiB)"
  echo "- server: benches/download/serve.py (Python, os.sendfile) on 127.0.0.1; median of ${REPEAT} runs, page cache warm"
  echo "- commands: \`$BUILD_CMD\`; \`bash benches/download/run.sh\` (BIG_MIB=$BIG_MIB ZIP_FILES=$ZIP_FILES ZIP_KIB=$ZIP_KIB REPEAT=$REPEAT)"
  echo
  echo "$TABLE"
} | tee "$REPO/.bench/download-results.md"
