#!/usr/bin/env bash
# Engine benchmark: `pipeline` vs b3sum (hashing) and vs DVC (no-op rerun), one run.
#
#   bash benches/engine/run.sh            # everything; ~10 min on 2 cores
#
# Knobs (environment):
#   BUILD=0            don't run `cargo build --release --bin pipeline` (use what is in target/release)
#   PIPELINE_BIN=path  use this binary instead of target/release/pipeline
#   HASH_RUNS=5        timed runs per hashing command (after 1 warm-up run)
#   NOOP_RUNS=10       timed runs per no-op rerun command (after 1 warm-up run)
#   SCALE_POINTS="0 4730"  extra tree sizes (image count) for the no-op scaling table;
#                      "" to skip. The main tree (47,300 images) is always measured.
#   SKIP_INSTALL=1     fail instead of installing missing b3sum / dvc / hyperfine
#   WAIT_IDLE=600      before each timed part, wait up to this many seconds for the
#                      1-min load average to fall below 0.5 (default 0: don't wait;
#                      the report notes a busy machine either way)
#
# Everything it makes lives in .bench/ (git-ignored): tools/, venv-dvc/, tree/,
# dvc-proj*/, results/ (raw hyperfine JSON + logs of the last run) and
# engine-results.md (the Markdown section, also printed at the end).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
BENCH="$REPO/.bench"
RES="$BENCH/results"
TREE="$BENCH/tree"
MAIN_FILES=47300
MAIN_JSON_MB=100
SEED=7
HASH_RUNS="${HASH_RUNS:-5}"
NOOP_RUNS="${NOOP_RUNS:-10}"
SCALE_POINTS="${SCALE_POINTS-0 4730}"
BUILD="${BUILD:-1}"
PIPE="${PIPELINE_BIN:-$REPO/target/release/pipeline}"
B3SUM="$BENCH/tools/bin/b3sum"
DVC="$BENCH/venv-dvc/bin/dvc"
export DVC_NO_ANALYTICS=1

T_START=$EPOCHREALTIME
mkdir -p "$BENCH"
rm -rf "$RES"
mkdir -p "$RES"
: > "$RES/order.txt"
: > "$RES/meta.tsv"

log() { printf '\n[%(%H:%M:%S)T] == %s\n' -1 "$*" >&2; }
kv() { printf '%s\t%s\n' "$1" "$2" >> "$RES/meta.tsv"; }
have() { command -v "$1" >/dev/null 2>&1; }
elapsed() { python3 -c "print(f'{$EPOCHREALTIME - $1:.1f}')"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
wait_idle() {
    local until=$(( SECONDS + ${WAIT_IDLE:-0} ))
    while (( SECONDS < until )) && ! awk '{exit !($1 < 0.5)}' /proc/loadavg; do sleep 5; done
}
section_start() {
    [[ $2 == hash || $2 == noop || $2 == scale ]] && wait_idle
    SECTION_T0=$EPOCHREALTIME; log "$1 (load $(loadavg))"; kv "load_before_$2" "$(loadavg)"
}
section_end() { local s; s=$(elapsed "$SECTION_T0"); kv "section_s_$1" "$s"; log "$1 took ${s}s"; }

# bench NAME RUNS WARMUP PREPARE CMD
# Times CMD (a bash command line) RUNS times after WARMUP untimed runs, running
# PREPARE (untimed) before each. Writes $RES/NAME.json (hyperfine format) or
# $RES/NAME.times (fallback loop), $RES/NAME.cmd/.prepare, and $RES/NAME.fail
# with the reason when CMD fails. Returns CMD's success.
bench() {
    local name=$1 runs=$2 warmup=$3 prepare=$4 cmd=$5 rc=0
    printf '%s\n' "$name" >> "$RES/order.txt"
    printf '%s\n' "$cmd" > "$RES/$name.cmd"
    printf '%s\n' "$prepare" > "$RES/$name.prepare"
    echo "  \$ $cmd" >&2
    if have hyperfine && (( runs > 1 )); then
        local args=(--runs "$runs" --warmup "$warmup" --style basic --shell bash
                    --export-json "$RES/$name.json")
        [[ -n $prepare ]] && args+=(--prepare "$prepare")
        hyperfine "${args[@]}" "$cmd" > "$RES/$name.log" 2>&1 || rc=$?
        grep -E 'Time \(mean|Range' "$RES/$name.log" | sed 's/^/    /' >&2
    else
        local i t0 t1
        : > "$RES/$name.times"
        for ((i = 0; i < warmup + runs; i++)); do
            if [[ -n $prepare ]]; then bash -c "$prepare" >> "$RES/$name.log" 2>&1; fi
            t0=$EPOCHREALTIME
            bash -c "$cmd" >> "$RES/$name.log" 2>&1 || { rc=$?; break; }
            t1=$EPOCHREALTIME
            (( i >= warmup )) && python3 -c "print($t1 - $t0)" >> "$RES/$name.times"
        done
        [[ $rc == 0 ]] && echo "    $(python3 -c "import sys; v=[float(x) for x in open(sys.argv[1])]; print(f'{sum(v)/len(v):.3f} s mean of {len(v)}')" "$RES/$name.times")" >&2
    fi
    if [[ $rc != 0 ]]; then
        rm -f "$RES/$name.json" "$RES/$name.times"
        { echo "exit code $rc; log tail:"; tail -n 5 "$RES/$name.log"; } > "$RES/$name.fail"
        echo "    FAILED (exit $rc), see .bench/results/$name.log" >&2
        return 1
    fi
}

# skip NAME REASON: record a row as not measured
skip() {
    printf '%s\n' "$1" >> "$RES/order.txt"
    printf '%s\n' "$2" > "$RES/$1.fail"
}

warm_page_cache() {  # warm_page_cache DIR TAG: one read pass over DIR (not a measurement)
    local t0=$EPOCHREALTIME
    find "$1" -type f -print0 | xargs -0 cat > /dev/null
    kv "warm_read_s_$2" "$(elapsed "$t0")"
}

# ---------------------------------------------------------------- 0. tools
section_start "tools" tools
if [[ ! -x $B3SUM ]]; then
    [[ ${SKIP_INSTALL:-0} == 1 ]] && { echo "b3sum missing" >&2; exit 1; }
    log "installing b3sum into .bench/tools"
    nice -n 10 cargo install b3sum --locked --root "$BENCH/tools" > "$RES/install-b3sum.log" 2>&1 \
        || { echo "b3sum install failed, see $RES/install-b3sum.log" >&2; exit 1; }
fi
if [[ ! -x $DVC ]]; then
    [[ ${SKIP_INSTALL:-0} == 1 ]] && { echo "dvc missing" >&2; exit 1; }
    log "installing dvc into .bench/venv-dvc"
    { python3 -m venv "$BENCH/venv-dvc" && nice -n 10 "$BENCH/venv-dvc/bin/pip" install -q dvc; } \
        > "$RES/install-dvc.log" 2>&1 \
        || { echo "dvc install failed, see $RES/install-dvc.log" >&2; exit 1; }
fi
if ! have hyperfine && [[ ${SKIP_INSTALL:-0} != 1 ]] && have apt-get; then
    log "installing hyperfine (apt)"
    { apt-get update -qq && apt-get install -y -qq hyperfine; } > "$RES/install-hyperfine.log" 2>&1 \
        || echo "hyperfine unavailable; falling back to a timing loop" >&2
fi
section_end tools

# ---------------------------------------------------------------- 1. data
section_start "test trees" data
nice -n 10 python3 "$HERE/gen_tree.py" --out "$TREE" --files $MAIN_FILES \
    --json-mb $MAIN_JSON_MB --seed $SEED || { echo "tree generation failed" >&2; exit 1; }
for n in $SCALE_POINTS; do
    [[ $n == "$MAIN_FILES" ]] && continue
    nice -n 10 python3 "$HERE/gen_tree.py" --out "$BENCH/tree-n$n" --files "$n" \
        --json-mb "$(python3 -c "print(max(0.01, $MAIN_JSON_MB * $n / $MAIN_FILES))")" --seed $SEED \
        || { echo "tree generation failed" >&2; exit 1; }
done
cp "$TREE.stamp" "$RES/tree.stamp"
TOTAL_BYTES=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_bytes'])" "$TREE.stamp")
TOTAL_FILES=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_files'])" "$TREE.stamp")
MEM_AVAIL=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) * 1024 ))
if (( MEM_AVAIL < TOTAL_BYTES * 12 / 10 )); then
    echo "WARNING: tree ($TOTAL_BYTES B) may not fit in the page cache ($MEM_AVAIL B available)" >&2
    kv warning "tree may not fit in the page cache: hashing numbers include disk reads"
fi
section_end data

# ---------------------------------------------------------------- 2. pipeline binary
section_start "pipeline binary" build
PIPE_HASH_OK=0 PIPE_RUN_OK=0 PIPE_REASON="" PIPE_HASH_REASON="" PIPE_RUN_REASON=""
if [[ $BUILD == 1 && -z ${PIPELINE_BIN:-} ]]; then
    ( cd "$REPO" && nice -n 10 cargo build --release --bin pipeline ) > "$RES/build.log" 2>&1 \
        || PIPE_REASON="cargo build --release --bin pipeline failed (see .bench/results/build.log)"
fi
if [[ -z $PIPE_REASON && ! -x $PIPE ]]; then
    PIPE_REASON="no binary at ${PIPE#"$REPO"/}"
fi
if [[ -z $PIPE_REASON ]]; then
    kv pipeline_version "$("$PIPE" --version 2>/dev/null | head -n 1)"
    "$PIPE" hash --help > "$RES/pipeline-hash-help.txt" 2>&1
    # `pipeline hash FILE` must print a hex digest (32+ hex digits); a 1-file tree is enough.
    mkdir -p "$BENCH/probe" && printf 'probe\n' > "$BENCH/probe/a.txt"
    probe=$(PIPELINE_CACHE_DIR="$BENCH/probe-cache" "$PIPE" hash "$BENCH/probe/a.txt" 2>&1)
    prc=$?
    rm -rf "$BENCH/probe-cache"
    if [[ $prc != 0 ]]; then
        PIPE_HASH_REASON="\`pipeline hash\` exited $prc: $(tail -n 1 <<< "$probe" | cut -c1-100)"
    elif ! grep -Eq '[0-9a-fA-F]{32,}' <<< "$probe"; then
        PIPE_HASH_REASON="\`pipeline hash\` printed no digest (binary incomplete?)"
    else
        PIPE_HASH_OK=1
    fi
    # `pipeline run` is checked by the first run itself (all 6 stages must execute).
    PIPE_RUN_OK=1
else
    PIPE_HASH_REASON=$PIPE_REASON PIPE_RUN_REASON=$PIPE_REASON
fi
kv pipeline_status "${PIPE_REASON:-ok}"
kv pipeline_hash_status "${PIPE_HASH_REASON:-ok}"
echo "  pipeline: ${PIPE_REASON:-binary built}; hash: ${PIPE_HASH_REASON:-ok}" >&2
section_end build

# ---------------------------------------------------------------- 3. hashing
section_start "hashing (warm page cache)" hash
warm_page_cache "$TREE" hash
# b3sum, two invocations; the faster one is the reference.
#  default: one b3sum process per xargs batch, --num-threads default (all cores, per file)
#  per-core: one single-threaded b3sum per core, files split across them
FIND="find images annotations.json -type f -print0"
bench hash_b3sum_default "$HASH_RUNS" 1 "" \
    "cd $TREE && $FIND | xargs -0 $B3SUM > /dev/null"
bench hash_b3sum_percore "$HASH_RUNS" 1 "" \
    "cd $TREE && $FIND | xargs -0 -P $(nproc) -n 2000 $B3SUM --num-threads 1 > /dev/null"
if (( PIPE_HASH_OK )); then
    HC="$BENCH/pipeline-cache-hash"
    # Cold stat cache: a fresh, empty PIPELINE_CACHE_DIR before every run.
    bench hash_pipeline_cold "$HASH_RUNS" 1 "rm -rf $HC" \
        "PIPELINE_CACHE_DIR=$HC $PIPE hash $TREE > /dev/null"
    if grep -q -- '--no-stat-cache' "$RES/pipeline-hash-help.txt"; then
        bench hash_pipeline_nostatcache "$HASH_RUNS" 1 "rm -rf $HC" \
            "PIPELINE_CACHE_DIR=$HC $PIPE hash --no-stat-cache $TREE > /dev/null"
    fi
    # Warm stat cache (info): cache kept between runs; the warm-up run fills it.
    bench hash_pipeline_warmstat "$HASH_RUNS" 1 "" \
        "PIPELINE_CACHE_DIR=$HC $PIPE hash $TREE > /dev/null"
    # Sanity: digest of the tree, and of one file next to b3sum's.
    kv pipeline_tree_digest "$(PIPELINE_CACHE_DIR=$HC "$PIPE" hash "$TREE" 2>&1 | head -n 1)"
    kv pipeline_json_digest "$(PIPELINE_CACHE_DIR=$HC "$PIPE" hash "$TREE/annotations.json" 2>&1 | head -n 1)"
else
    skip hash_pipeline_cold "$PIPE_HASH_REASON"
    skip hash_pipeline_warmstat "$PIPE_HASH_REASON"
fi
kv b3sum_json_digest "$(cd "$TREE" && "$B3SUM" annotations.json)"
section_end hash

# ---------------------------------------------------------------- 4. no-op reruns
# Stage prologue shared with pipeline.toml: L = exec log, or /dev/null if unset.
# (No ${...}: DVC would take it for its own templating.)
XL_SH='L=$PIPELINE_BENCH_EXECLOG; [ -n "$L" ] || L=/dev/null;'

# make_dvc_proj DIR TREE: fresh git+DVC project with the 6-stage chain.
make_dvc_proj() {
    local dir=$1 tree=$2 i
    rm -rf "$dir"
    mkdir -p "$dir"
    (
        cd "$dir" || exit 1
        git init -q . && git config user.email bench@localhost && git config user.name bench
        "$DVC" init -q
        # State db (DVC's stat cache) inside the project, so a new project starts cold.
        "$DVC" config --local core.site_cache_dir "$dir/.dvc/tmp/site-cache"
        "$DVC" stage add -q -n s1 -d "$tree/images" -d "$tree/annotations.json" -o s1.txt \
            "$XL_SH"' echo s1 >> "$L"; ls '"$tree"'/images | wc -l > s1.txt'
        for i in 2 3 4 5 6; do
            "$DVC" stage add -q -n s$i -d s$((i - 1)).txt -o s$i.txt \
                "$XL_SH"' echo s'$i' >> "$L"; cat s'$((i - 1))'.txt > s'$i'.txt'
        done
        git add -A && git commit -q -m "bench project"
    ) > "$RES/mkproj-$(basename "$dir").log" 2>&1
}

# execs LOGFILE: how many stage executions the log holds
execs() { if [[ -f $1 ]]; then wc -l < "$1"; else echo 0; fi; }

# noop_point TAG TREE_DIR MANIFEST DVC_DIR
# A first (cold) run, then NOOP_RUNS no-op reruns, for DVC and for pipeline.
# Each stage appends a line to $PIPELINE_BENCH_EXECLOG, so we can check that
# the first run executed all 6 stages and the no-op runs none.
noop_point() {
    local tag=$1 tree=$2 manifest=$3 dvcdir=$4 xl n
    warm_page_cache "$tree" "$tag"
    # DVC
    xl="$BENCH/execlog-dvc-$tag"
    rm -f "$xl"
    if ! make_dvc_proj "$dvcdir" "$tree"; then
        skip "dvc_cold_$tag" "could not create the DVC project (see .bench/results/mkproj-$(basename "$dvcdir").log)"
        skip "dvc_noop_$tag" "could not create the DVC project"
    elif bench "dvc_cold_$tag" 1 0 "" "cd $dvcdir && PIPELINE_BENCH_EXECLOG=$xl $DVC repro"; then
        kv "execs_dvc_cold_$tag" "$(execs "$xl")"
        n=$(execs "$xl")
        bench "dvc_noop_$tag" "$NOOP_RUNS" 1 "" "cd $dvcdir && PIPELINE_BENCH_EXECLOG=$xl $DVC repro"
        kv "execs_dvc_noop_$tag" "$(( $(execs "$xl") - n ))"
    else
        skip "dvc_noop_$tag" "first dvc repro failed"
    fi
    # pipeline
    if (( ! PIPE_RUN_OK )); then
        skip "pipeline_cold_$tag" "$PIPE_RUN_REASON"
        skip "pipeline_noop_$tag" "$PIPE_RUN_REASON"
        return
    fi
    local pc="$BENCH/pipeline-cache-run-$tag"
    xl="$BENCH/execlog-pipeline-$tag"
    rm -rf "$pc" "$xl"
    if ! bench "pipeline_cold_$tag" 1 0 "" \
            "PIPELINE_BENCH_EXECLOG=$xl PIPELINE_CACHE_DIR=$pc $PIPE run $manifest"; then
        skip "pipeline_noop_$tag" "first pipeline run failed"
        return
    fi
    n=$(execs "$xl")
    kv "execs_pipeline_cold_$tag" "$n"
    if (( n != 6 )); then
        # A binary that exits 0 without running the stages (e.g. a stub) is not measured.
        local why="first run executed $n of 6 stages (binary incomplete, or stages do not see PIPELINE_BENCH_EXECLOG from the environment)"
        mv "$RES/pipeline_cold_$tag.times" "$RES/pipeline_cold_$tag.times.unverified"
        echo "$why" > "$RES/pipeline_cold_$tag.fail"
        skip "pipeline_noop_$tag" "$why"
        echo "    NOT MEASURED: $why" >&2
        return
    fi
    bench "pipeline_noop_$tag" "$NOOP_RUNS" 1 "" \
        "PIPELINE_BENCH_EXECLOG=$xl PIPELINE_CACHE_DIR=$pc $PIPE run $manifest"
    kv "execs_pipeline_noop_$tag" "$(( $(execs "$xl") - n ))"
}

section_start "no-op reruns, main tree" noop
kv scale_main "$MAIN_FILES"
noop_point main "$TREE" "$HERE/pipeline.toml" "$BENCH/dvc-proj"
cp "$BENCH/dvc-proj/dvc.yaml" "$RES/dvc.yaml" 2>/dev/null
section_end noop

if [[ -n ${SCALE_POINTS// /} ]]; then
    section_start "no-op reruns, scaling points: $SCALE_POINTS" scale
    mkdir -p "$BENCH/manifests"
    for n in $SCALE_POINTS; do
        [[ $n == "$MAIN_FILES" ]] && continue
        kv "scale_n$n" "$n"
        # Same manifest, root pointed at the smaller tree (relative to .bench/manifests).
        sed 's|^root = .*|root = "../tree-n'"$n"'"|' "$HERE/pipeline.toml" > "$BENCH/manifests/pipeline-n$n.toml"
        noop_point "n$n" "$BENCH/tree-n$n" "$BENCH/manifests/pipeline-n$n.toml" "$BENCH/dvc-proj-n$n"
    done
    section_end scale
fi

# ---------------------------------------------------------------- 5. report
kv total_s "$(elapsed "$T_START")"
kv date "$(date -u '+%Y-%m-%d %H:%M UTC')"
kv cpu "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
kv cores "$(nproc)"
kv ram "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
kv kernel "$(uname -sr)"
kv fs "$(df -T "$TREE" | awk 'NR == 2 {print $2}')"
kv b3sum_version "$("$B3SUM" --version)"
kv dvc_version "$("$DVC" --version)"
kv hyperfine_version "$(hyperfine --version 2>/dev/null || echo 'not installed (timing loop)')"
kv rustc_version "$(rustc --version 2>/dev/null)"
kv python_version "$(python3 --version)"
rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "no commit yet")
dirty=$(git -C "$REPO" status --porcelain -- src stages Cargo.toml Cargo.lock 2>/dev/null | wc -l)
(( dirty > 0 )) && rev="$rev (+ uncommitted changes in src/, stages/ or Cargo.*)"
kv pipeline_rev "$rev"
kv repo "$REPO"
kv hash_runs "$HASH_RUNS"
kv noop_runs "$NOOP_RUNS"
kv wait_idle "${WAIT_IDLE:-0}"
kv total_bytes "$TOTAL_BYTES"
kv total_files "$TOTAL_FILES"

python3 "$HERE/report.py" "$RES" > "$BENCH/engine-results.md"
echo
cat "$BENCH/engine-results.md"
echo
echo "(written to .bench/engine-results.md; raw data in .bench/results/)" >&2
