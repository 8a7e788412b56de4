#!/usr/bin/env bash
# Engine scaling: plan and no-op rerun wall time of one `exec` stage with a matrix of N instances
# (each runs `true a=A b=B`, writes nothing), for N in $POINTS.
#
#   bash benches/engine/scale.sh                       # builds target/debug/pipeline, 10^3..10^5
#   PIPELINE_BIN=path POINTS="1000 10000" bash benches/engine/scale.sh
#
# For each N, in a fresh project under .bench/scale-N/ (git-ignored):
#   plan     `pipeline run --dry-run` before anything ran (expand, validate, key every stage)
#   status   `pipeline status` after the first run (every stage up to date)
#   first    `pipeline run` (N processes)
#   no-op    `pipeline run` again (every stage a cache hit)
# Each timed once (RUNS=1; more runs: RUNS=3 reports the median). A command still running after
# LIMIT seconds (default 600) is killed and reported as "> LIMIT s". Prints a Markdown table.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
POINTS="${POINTS:-1000 10000 100000}"
RUNS="${RUNS:-1}"
LIMIT="${LIMIT:-600}"
PIPE="${PIPELINE_BIN:-}"
if [[ -z $PIPE ]]; then
    (cd "$REPO" && cargo build -q --bin pipeline) || { echo "build failed" >&2; exit 1; }
    PIPE="${CARGO_TARGET_DIR:-$REPO/target}/debug/pipeline"
fi

# manifest N: one stage, matrix a x b with b = 10 (N a multiple of 10); `max_instances` raised to
# N only where N is above the default limit (200,000), so older binaries read the same manifest.
manifest() {
    local n=$1
    python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
if n > 200000:
    print(f"[pipeline]\nmax_instances = {n}\n")
print("[stage.t]\nkind = \"exec\"")
print(f"matrix = {{ a = [{', '.join(str(i) for i in range(n // 10))}], b = [{', '.join(str(i) for i in range(10))}] }}")
print('cmd = ["true", "a=${matrix.a}", "b=${matrix.b}"]')
PY
}

# timed LABEL CMD...: median wall seconds of RUNS runs of CMD (stdout/stderr to a log)
timed() {
    local label=$1 i t0 times=()
    shift
    for ((i = 0; i < RUNS; i++)); do
        t0=$EPOCHREALTIME
        if ! timeout "$LIMIT" "$@" > "$DIR/$label.log" 2>&1; then
            if (( $(python3 -c "print(int($EPOCHREALTIME - $t0 >= $LIMIT))") )); then
                echo "> $LIMIT s"; return
            fi
            echo "failed ($(tail -n 1 "$DIR/$label.log" | cut -c1-60))"; return
        fi
        times+=("$(python3 -c "print($EPOCHREALTIME - $t0)")")
    done
    python3 -c "import sys, statistics; print(f'{statistics.median(map(float, sys.argv[1:])):.3f} s')" "${times[@]}"
}

echo "Machine: $(machine); binary: $PIPE; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| instances | plan (\`run --dry-run\`) | \`status\` (all up to date) | first run | no-op rerun |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in $POINTS; do
    DIR="$REPO/.bench/scale-$n"
    rm -rf "$DIR" && mkdir -p "$DIR"
    manifest "$n" > "$DIR/pipeline.toml"
    export PIPELINE_CACHE_DIR="$DIR/cache"
    plan=$(RUNS=$RUNS timed plan "$PIPE" run --dry-run "$DIR/pipeline.toml")
    first=$(RUNS=1 timed first "$PIPE" run "$DIR/pipeline.toml")
    status=$(timed status "$PIPE" status "$DIR/pipeline.toml")
    noop=$(timed noop "$PIPE" run "$DIR/pipeline.toml")
    printf '| %s | %s | %s | %s | %s |\n' "$(printf "%'d" "$n")" "$plan" "$status" "$first" "$noop"
done
