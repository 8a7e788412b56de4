#!/usr/bin/env bash
# Filling an empty cache from the shared remote vs computing again, on a real S3 store
# (SeaweedFS from scripts/s3-up.sh, started here in a temporary folder unless AWS_ENDPOINT is set):
#   - big: one `exec` stage writing SIZE_MB of random bytes (default 2048), whose digest check
#     reads them all again on pull;
#   - demo: pipelines/demo.toml with the remote added (the ML binary: `cargo build -p pipeline`).
# For each: cold run on cache A (computes and pushes; the push is part of its time), then a run
# on the empty cache B (pulls everything), then a run on the empty cache C with --no-remote
# (computes everything again).
#   - resume: the big output computed with --no-remote, then `cache push` of it whole to a new
#     prefix, against a run killed (SIGKILL) once half its parts were sent and the rerun that
#     finishes that upload.
#
#   - scale: STAGES (default 1000) instances of one matrix stage, each writing its own small
#     file: the same three runs, plus a no-op rerun on cache A, to show the cost per stage of
#     the remote's requests.
#
#   benches/remote/run.sh [big|demo|resume|scale|all]   # default all; resume and scale run
#                                                       # only when named
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

# parts FOLDER: the most parts a pending upload under the cache FOLDER has sent.
parts() {
  cat "$1"/v1/uploads/*.json 2> /dev/null | grep -o '"etag"' | wc -l
}

# stage_manifest NAME FOLDER SCRIPT OUTPUT: FOLDER/pipeline.toml, one `exec` stage NAME running
# the shell SCRIPT that writes OUTPUT, with the remote under the prefix NAME.
stage_manifest() {
  mkdir -p "$2"
  cat > "$2/pipeline.toml" <<TOML
[pipeline]
remote = "s3://$AWS_BUCKET/$prefix/$1"

[stage.$1]
kind = "exec"
cmd = ["sh", "-c", '$3']
outputs = ["$4"]
TOML
}

# The big manifest under remote prefix $1, in folder $2.
big_manifest() {
  stage_manifest "$1" "$2" "head -c ${size_mb}M /dev/urandom > \"\$PIPELINE_OUT/blob.bin\"" blob.bin
}

if [ "$what" = resume ]; then
  echo "resumed upload: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), SeaweedFS on 127.0.0.1, $BIN"
  half=$((size_mb / 16 / 2))
  big_manifest whole "$work/whole"
  seconds "$work/whole/pipeline.toml" "$work/cache-w" --no-remote > /dev/null
  start=$(date +%s.%N)
  "$BIN" --cache-dir "$work/cache-w" cache push "$work/whole/pipeline.toml" 2> "$work/push.log"
  whole=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  big_manifest resumed "$work/resumed"
  "$BIN" --cache-dir "$work/cache-r" run "$work/resumed/pipeline.toml" > /dev/null 2>&1 &
  engine=$!
  until [ "$(parts "$work/cache-r")" -ge "$half" ]; do sleep 0.05; done
  kill -9 "$engine"; wait "$engine" 2> /dev/null || true
  sent=$(parts "$work/cache-r")
  finish=$(seconds "$work/resumed/pipeline.toml" "$work/cache-r")
  echo "| ${size_mb} MB output, 16 MiB parts | seconds |"
  echo "| --- | ---: |"
  echo "| \`cache push\`, the whole upload | $whole |"
  echo "| rerun after a SIGKILL with $sent parts sent: finishes the upload | $finish |"
  grep '^pushed' "$work/push.log" "$work/last.log" | sed 's/^/    /'
  exit 0
fi

if [ "$what" = scale ]; then
  stages=${STAGES:-1000}
  mkdir -p "$work/scale"
  values=$(seq -s, 1 "$stages")
  cat > "$work/scale/pipeline.toml" <<TOML
[pipeline]
remote = "s3://$AWS_BUCKET/$prefix/scale"

[stage.t]
kind = "exec"
matrix = { i = [$values] }
cmd = ["sh", "-c", 'echo \$0 > "\$PIPELINE_OUT/v.txt"', "i=\${matrix.i}"]
outputs = ["v.txt"]
TOML
  echo "remote cache, $stages stages: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), SeaweedFS on 127.0.0.1, $BIN"
  echo "| $stages small stages | seconds |"
  echo "| --- | ---: |"
  echo "| compute, --no-remote, cache C | $(seconds "$work/scale/pipeline.toml" "$work/cache-c" --no-remote) |"
  echo "| compute + push, cache A | $(seconds "$work/scale/pipeline.toml" "$work/cache-a") |"
  echo "| no-op rerun with the remote set, cache A | $(seconds "$work/scale/pipeline.toml" "$work/cache-a") |"
  echo "| pull everything, empty cache B | $(seconds "$work/scale/pipeline.toml" "$work/cache-b") |"
  files=${FILES:-100000}
  stage_manifest files "$work/files" "mkdir \"\$PIPELINE_OUT/d\" && cd \"\$PIPELINE_OUT/d\" && \
i=0 && while [ \$i -lt $files ]; do echo \$i > f\$i; i=\$((i + 1)); done" d/
  echo
  echo "| one output of $files small files | seconds |"
  echo "| --- | ---: |"
  echo "| compute, --no-remote, cache C | $(seconds "$work/files/pipeline.toml" "$work/cache-fc" --no-remote) |"
  echo "| compute + push, cache A | $(seconds "$work/files/pipeline.toml" "$work/cache-fa") |"
  echo "| pull, empty cache B | $(seconds "$work/files/pipeline.toml" "$work/cache-fb") |"
  exit 0
fi

echo "remote cache: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), SeaweedFS on 127.0.0.1, $BIN"
echo "| pipeline | compute + push, cache A (s) | pull, empty cache B (s) | compute again, cache C, --no-remote (s) |"
echo "| --- | ---: | ---: | ---: |"
if [ "$what" = big ] || [ "$what" = all ]; then
  big_manifest big "$work/big"
  row "one ${size_mb} MB output" "$work/big/pipeline.toml"
fi
if [ "$what" = demo ] || [ "$what" = all ]; then
  { printf '[pipeline]\nroot = "%s"\nremote = "s3://%s/%s/demo"\n' "$REPO" "$AWS_BUCKET" "$prefix"
    sed '/^\[pipeline\]/,/^$/d' "$REPO/pipelines/demo.toml"; } > "$work/demo.toml"
  row "demo (pipelines/demo.toml)" "$work/demo.toml"
fi
