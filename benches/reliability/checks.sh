# The project, the checks and the loops of benches/reliability/run.sh (sourced by it: needs BIN,
# work and the `machine` helper of benches/lib.sh).

# new_project DIR: the pipeline under test. Every exec stage appends "<stage> <seed>" to runs.log
# when it starts, and names the run's token in its argument list (to find it in `ps`).
new_project() {
  local dir=$1
  mkdir -p "$dir"
  cat > "$dir/pipeline.toml" <<'TOML'
[vars]
seed = 0
token = "TOKEN"

[stage.gen]
kind = "exec"
cmd = ["sh", "-c", "echo \"$PIPELINE_STAGE ${vars.seed}\" >> runs.log; sleep 0.2; seq 1 600 | sed 's/^/${vars.seed}-/' > \"$PIPELINE_OUT/data.txt\"", "${vars.token}"]
outputs = ["data.txt"]

[stage.part]
kind = "exec"
matrix = { p = [0, 1, 2] }
inputs = { data = "@gen/data.txt" }
cmd = ["sh", "-c", "echo \"$PIPELINE_STAGE ${vars.seed}\" >> runs.log; sleep 0.3; awk 'NR % 3 == ${matrix.p}' \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/part.txt\"", "${vars.token}"]
outputs = ["part.txt"]

[stage.combine]
kind = "exec"
inputs = { parts = "@part" }
cmd = ["sh", "-c", "echo \"$PIPELINE_STAGE ${vars.seed}\" >> runs.log; mkdir \"$PIPELINE_OUT/parts\"; i=0; for d in ${inputs.parts}; do cp \"$d/part.txt\" \"$PIPELINE_OUT/parts/$i.txt\"; i=$((i + 1)); done; sleep 0.1; sort -t- -k2 -n \"$PIPELINE_OUT\"/parts/*.txt > \"$PIPELINE_OUT/all.txt\"", "${vars.token}"]
outputs = ["all.txt", "parts/"]

[stage.ship]
kind = "publish"
inputs = { f = "@combine/all.txt" }
path = "results/all.txt"

[stage.ship_parts]
kind = "publish"
inputs = { f = "@combine/parts" }
path = "results/parts"
TOML
  sed -i "s/token = \"TOKEN\"/token = \"reliability-$$-$RANDOM\"/" "$dir/pipeline.toml"
}

set_seed() { sed -i "s/^seed = .*/seed = $2/" "$1/pipeline.toml"; }

token() { sed -n 's/^token = "\(.*\)"/\1/p' "$1/pipeline.toml"; }

pipeline() { (cd "$1" && shift && PIPELINE_CACHE_DIR="$PWD/cache" "$BIN" "$@"); }

# check_results DIR SEED: published files right, cache verified, no temporary leftovers. Prints
# what is wrong and returns 1.
check_results() {
  local dir=$1 seed=$2 expected
  expected=$(seq 1 600 | sed "s/^/$seed-/")
  if [ "$(cat "$dir/results/all.txt" 2>/dev/null)" != "$expected" ]; then
    echo "results/all.txt is not seed $seed's"; return 1
  fi
  if [ "$(ls "$dir/results/parts" 2>/dev/null | tr '\n' ' ')" != "0.txt 1.txt 2.txt " ] ||
     [ "$(sort -t- -k2 -n "$dir"/results/parts/*.txt)" != "$expected" ]; then
    echo "results/parts/ is not seed $seed's"; return 1
  fi
  local leftovers
  leftovers=$(find "$dir/results" -name '.*tmp*' | head -3)
  if [ -n "$leftovers" ]; then echo "temporary leftovers: $leftovers"; return 1; fi
  if ! pipeline "$dir" cache verify > "$dir/verify.log" 2>&1; then
    echo "cache verify: $(tail -3 "$dir/verify.log")"; return 1
  fi
}

# alive TOKEN: how many stage processes of this project are running.
alive() { ps -eo args= | grep -F -- "$1" | grep -vc -e grep -e "pipeline.toml" || true; }

sigkill_loop() {
  local kills=$1 dir="$work/sigkill" survived=0 early=0 mid=0 orphans=0 i pid why start
  new_project "$dir"
  # Kill moments are drawn over the length of one clean run (after the binary is in the page cache).
  pipeline "$dir" run pipeline.toml > /dev/null 2>&1
  set_seed "$dir" -1
  local t0 window
  t0=$(date +%s%N)
  pipeline "$dir" run pipeline.toml > /dev/null 2>&1
  window=$(( ($(date +%s%N) - t0) / 1000000 ))
  start=$SECONDS
  for i in $(seq 1 "$kills"); do
    set_seed "$dir" "$i"
    # `exec` in a plain background subshell: $! is the engine's own pid (through the `pipeline`
    # function, $! would be a wrapping shell, and killing it would leave the engine running).
    (cd "$dir" && PIPELINE_CACHE_DIR="$dir/cache" exec "$BIN" run pipeline.toml) > "$dir/killed.log" 2>&1 &
    pid=$!
    sleep "$(awk -v r="$RANDOM" -v w="$window" 'BEGIN { printf "%.3f", r / 32767 * w / 1000 }')"
    if kill -KILL "$pid" 2>/dev/null; then early=$((early + 1)); fi
    wait "$pid" 2>/dev/null || true
    sleep 0.1
    local left
    left=$(alive "$(token "$dir")")
    if [ "$left" -gt 0 ]; then mid=$((mid + 1)); orphans=$((orphans + left)); fi
    if ! pipeline "$dir" run pipeline.toml > "$dir/rerun.log" 2>&1; then
      echo "  kill $i: the rerun failed: $(tail -3 "$dir/rerun.log")"
    elif why=$(check_results "$dir" "$i"); then
      survived=$((survived + 1))
    else
      echo "  kill $i: $why"
    fi
  done
  echo "sigkill: $survived/$kills survived ($early killed before the run ended, at random moments over ${window} ms; stage processes alive after the kill: $orphans, after $mid kills; $((SECONDS - start)) s)"
  [ "$survived" -eq "$kills" ]
}

# concurrent_loop WAYS ROUNDS
concurrent_loop() {
  local ways=$1 rounds=$2 dir="$work/concurrent-$1" good=0 round k codes why start
  new_project "$dir"
  start=$SECONDS
  for round in $(seq 1 "$rounds"); do
    set_seed "$dir" "$round"
    local pids=()
    for k in $(seq 1 "$ways"); do
      pipeline "$dir" run pipeline.toml > "$dir/run-$k.log" 2>&1 &
      pids+=($!)
    done
    codes=""
    for k in "${pids[@]}"; do
      if wait "$k"; then codes+="0 "; else codes+="$? "; fi
    done
    local computed once
    computed=$(grep -c " $round\$" "$dir/runs.log" || true)
    once=$(grep " $round\$" "$dir/runs.log" | sort | uniq -d | head -3 | tr '\n' ' ')
    if [ "$codes" != "$(printf '0 %.0s' $(seq 1 "$ways"))" ]; then
      echo "  $ways-way round $round: exit codes $codes: $(grep -h -m2 -i error "$dir"/run-*.log | head -2)"
    elif [ "$computed" -ne 5 ] || [ -n "$once" ]; then
      echo "  $ways-way round $round: $computed stage runs for 5 stages (twice: $once)"
    elif why=$(check_results "$dir" "$round"); then
      good=$((good + 1))
    else
      echo "  $ways-way round $round: $why"
    fi
  done
  echo "concurrent-$ways: $good/$rounds rounds clean ($ways runs each, every stage computed once per key; $((SECONDS - start)) s)"
  [ "$good" -eq "$rounds" ]
}
