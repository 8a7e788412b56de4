#!/usr/bin/env bash
# `pipeline ui`: how soon a run that ends shows on the page, and what a view of a large pipeline
# costs, beside `pipeline status` (what a user would otherwise run, e.g. under `watch -n 2`).
#
#   benches/ui/run.sh [RUNS] [STAGES]      (default 10 runs, 1000 stages)
#
# Latency: a 3-stage pipeline whose middle stage waits for a gate file; each run is ended by
# opening the gate, and the page (`/part`, polled every 20 ms) is timed from the moment the run's
# process exits until it shows every stage up to date. Scale: STAGES instances of one matrix
# stage, run once; then the time `pipeline status` takes, and the page's answer times.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
pipeline_bin
runs=${1:-10} stages=${2:-1000}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; rm -rf "$work"' EXIT
export CI=1

start_ui() { # start_ui FOLDER: starts `pipeline ui` there; sets PORT
  (cd "$1" && exec "$BIN" --cache-dir "$1/cache" ui pipeline.toml --port 0 > "$1/ui.out" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do grep -q http "$1/ui.out" 2> /dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$1/ui.out" | head -1)
}

mkdir -p "$work/gated/data"
cat > "$work/gated/pipeline.toml" <<'TOML'
[stage.prepare]
kind = "exec"
inputs = { raw = "data/raw.txt" }
cmd = ["sh", "-c", 'sort "$PIPELINE_INPUT_RAW" > "$PIPELINE_OUT/out.txt"']
outputs = ["out.txt"]

[stage.slow]
kind = "exec"
inputs = { data = "@prepare/out.txt" }
cmd = ["sh", "-c", 'while [ ! -e gate ]; do sleep 0.05; done; cp "$PIPELINE_INPUT_DATA" "$PIPELINE_OUT/out.txt"']
outputs = ["out.txt"]

[stage.report]
kind = "exec"
inputs = { data = "@slow/out.txt" }
cmd = ["sh", "-c", 'wc -l < "$PIPELINE_INPUT_DATA" > "$PIPELINE_OUT/out.txt"']
outputs = ["out.txt"]
TOML
start_ui "$work/gated"
echo "pipeline ui: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), $BIN"
python3 - "$BIN" "$work/gated" "$PORT" "$runs" <<'PY'
import os, statistics, subprocess, sys, time, urllib.request
binary, folder, port, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def page(): return urllib.request.urlopen(f"http://127.0.0.1:{port}/part").read().decode()
def wait(test):
    while not test(page()): time.sleep(0.02)
    return time.monotonic()
shown, status = [], []
for i in range(runs):
    with open(f"{folder}/data/raw.txt", "w") as f: f.write(f"{i}\nb\na\n")
    gate = f"{folder}/gate"
    if os.path.exists(gate): os.remove(gate)
    run = subprocess.Popen([binary, "--cache-dir", f"{folder}/cache", "run", "pipeline.toml"], cwd=folder,
                           stderr=subprocess.DEVNULL)
    wait(lambda p: 'data-stage="slow" data-status="running"' in p)
    open(gate, "w").close()
    run.wait()
    ended = time.monotonic()
    shown.append(wait(lambda p: p.count('data-status="up-to-date"') == 3) - ended)
    started = time.monotonic()
    subprocess.run([binary, "--cache-dir", f"{folder}/cache", "status", "pipeline.toml"], cwd=folder,
                   stdout=subprocess.DEVNULL, check=True)
    status.append(time.monotonic() - started)
print(f"| {runs} runs of 3 stages | median | max |")
print("| --- | ---: | ---: |")
print(f"| run ended -> page shows it (`/part`, the browser polls it every 1 s) | {statistics.median(shown):.2f} s | {max(shown):.2f} s |")
print(f"| one `pipeline status` | {statistics.median(status):.2f} s | {max(status):.2f} s |")
PY

mkdir -p "$work/many"
cat > "$work/many/pipeline.toml" <<TOML
[stage.step]
kind = "exec"
matrix = { i = [$(seq -s, 1 "$stages")] }
cmd = ["sh", "-c", 'echo \${matrix.i} > "\$PIPELINE_OUT/out.txt"']
outputs = ["out.txt"]
TOML
(cd "$work/many" && "$BIN" --cache-dir "$work/many/cache" run pipeline.toml -j 8 > /dev/null 2>&1)
start_ui "$work/many"
seconds() { local t0; t0=$(date +%s.%N); "$@" > /dev/null; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
first=$(seconds curl -sf "http://127.0.0.1:$PORT/part")
sleep 2
warm=$(seconds curl -sf "http://127.0.0.1:$PORT/part")
stage=$(seconds curl -sf "http://127.0.0.1:$PORT/?stage=step%5Bi%3D500%5D")
status=$(cd "$work/many" && seconds "$BIN" --cache-dir "$work/many/cache" status pipeline.toml)
bytes=$(curl -sf "http://127.0.0.1:$PORT/part" | wc -c)
echo
echo "| $stages stages, all up to date | seconds |"
echo "| --- | ---: |"
echo "| first page (graph laid out, statuses computed) | $first |"
echo "| the page again (view rebuilt every 0.5 s in the background) | $warm |"
echo "| a stage's page | $stage |"
echo "| one \`pipeline status\` | $status |"
echo "| size of the live part | $((bytes / 1024)) KiB |"
