#!/usr/bin/env bash
# Tokenizer benchmark: the spm-exact Rust tokenizer (tokenizers' TokenizerImpl with this crate's
# normalizer and f32 unigram) vs the Python reference, XLMRobertaTokenizer (slow) and
# XLMRobertaTokenizerFast, on 139,868 generated Visual7W-like questions x 4 options, with the
# fixture model tests/fixtures/tokenizer/test.spm. One run, one machine.
#
#   bash benches/tokenize/run.sh             # ~2-3 min on 2 cores, plus the build
#
# Knobs (environment):
#   PY=$BENCH_VENVS/tok/bin/python   Python with sentencepiece, transformers 4.46.3 (see the fixture README)
#   (BENCH_VENVS: where the benchmarks keep their Python environments, ~/.cache/pipeline/bench-venvs)
#   COUNT=139868                    questions
#
# The Rust example is built in the workspace dev profile (dependencies at opt-level 3) with this
# crate raised to opt-level 3 through `--config`, so nothing else is rebuilt. Outputs go to
# .bench/tokenize/ and the Markdown section to .bench/tokenize-results.md (also printed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
OUT="$REPO/.bench/tokenize"
PY="${PY:-${BENCH_VENVS:-$HOME/.cache/pipeline/bench-venvs}/tok/bin/python}"
COUNT="${COUNT:-139868}"
SPM="$REPO/tests/fixtures/tokenizer/test.spm"
mkdir -p "$OUT"
cd "$REPO"

dev_example pipeline-stages-tokenize bench_tokenize

python3 "$HERE/gen_questions.py" "$OUT/questions.jsonl" "$COUNT"
echo "running Rust..." >&2
"$BIN" "$SPM" "$OUT/questions.jsonl" "$OUT/stage" | tee "$OUT/rust.json"
echo "running Python (slow takes a while)..." >&2
"$PY" "$HERE/bench_python.py" "$SPM" "$OUT/questions.jsonl" | tee "$OUT/python.json"

python3 "$HERE/report.py" "$OUT/rust.json" "$OUT/python.json" "$COUNT" "$BUILD_CMD" "$PY" \
    > "$REPO/.bench/tokenize-results.md"
cat "$REPO/.bench/tokenize-results.md"
