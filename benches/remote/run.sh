#!/usr/bin/env bash
# Filling an empty cache from the shared remote vs computing again, on a real S3 store
# (SeaweedFS from scripts/s3-up.sh, started here in a temporary folder unless AWS_ENDPOINT is set):
#   - big: one `exec` stage writing SIZE_MB of random bytes (default 2048), whose digest check
#     reads them all again on pull;
#   - demo: pipelines/demo.toml with the remote added (the ML binary: `cargo build -p pipeline`).
# For each: cold run on cache A (computes and pushes; the push is part of its time), then a run
# on the empty cache B (pulls everything), then a run on the empty cache C with --no-remote
# (computes everything again).
#
#   benches/remote/run.sh [big|demo|all]      # default all
# The binary: $PIPELINE_BIN, else target/debug/pipeline.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
what=${1:-all}
size_mb=${SIZE_MB:-2048}
pipeline_bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
server_up s3 AWS_ENDPOINT
export CI=1 PIPELINE_NO_PROGRESS=1
prefix="bench/$(date +%s)-$$"

# seconds MANIFEST CACHE [ARGS]: wall time of one run (it must succeed).
seconds() {
  local manifest=$1 cache=$2 start end
  shift 2
  start=$(date +%s.%N)
  "$BIN" --cache-dir "$cache" run "$manifest" "$@" > /dev/null 2> "$work/last.log" \
    || { cat "$work/last.log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

row() {
  local name=$1 manifest=$2
  local a b c
  a=$(seconds "$manifest" "$work/cache-a-$name")
  b=$(seconds "$manifest" "$work/cache-b-$name")
  c=$(seconds "$manifest" "$work/cache-c-$name" --no-remote)
  echo "| $name | $a | $b | $c |"
}

echo "remote cache: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), SeaweedFS on 127.0.0.1, $BIN"
echo "| pipeline | compute + push, cache A (s) | pull, empty cache B (s) | compute again, cache C, --no-remote (s) |"
echo "| --- | ---: | ---: | ---: |"
if [ "$what" = big ] || [ "$what" = all ]; then
  mkdir -p "$work/big"
  cat > "$work/big/pipeline.toml" <<TOML
[pipeline]
remote = "s3://$AWS_BUCKET/$prefix/big"

[stage.big]
kind = "exec"
cmd = ["sh", "-c", 'head -c ${size_mb}M /dev/urandom > "\$PIPELINE_OUT/blob.bin"']
outputs = ["blob.bin"]
TOML
  row "one ${size_mb} MB output" "$work/big/pipeline.toml"
fi
if [ "$what" = demo ] || [ "$what" = all ]; then
  { printf '[pipeline]\nroot = "%s"\nremote = "s3://%s/%s/demo"\n' "$REPO" "$AWS_BUCKET" "$prefix"
    sed '/^\[pipeline\]/,/^$/d' "$REPO/pipelines/demo.toml"; } > "$work/demo.toml"
  row "demo (pipelines/demo.toml)" "$work/demo.toml"
fi
