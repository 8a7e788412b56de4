#!/usr/bin/env bash
# Per-stage overhead of running stages as Slurm jobs, beside the local executor, on the same
# 16-stage pipeline (16 independent `exec` stages that each write one small file): the wall time
# of a cold run (every stage computed) and of a warm run (every stage a hit, nothing submitted),
# REPS times each on fresh caches, median reported. Needs a cluster: it starts one with
# scripts/slurm-up.sh in a temporary folder (and stops it) unless SLURM_CONF is already set;
# SLURM_CPUS sets the CPUs its node claims (default: the machine's), so how many jobs run at once.
#
#   benches/slurm/run.sh [REPS]       # default 5
# The binary: $PIPELINE_BIN, else target/debug/pipeline.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
reps=${1:-5}
pipeline_bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
server_up slurm SLURM_CONF
export CI=1 PIPELINE_NO_PROGRESS=1

manifest="$work/pipeline.toml"
: > "$manifest"
for i in $(seq 1 16); do
  cat >> "$manifest" <<STAGE
[stage.s$i]
kind = "exec"
cmd = ["sh", "-c", 'echo $i > "\$PIPELINE_OUT/out.txt"']
outputs = ["out.txt"]

STAGE
done

# seconds EXECUTOR CACHE: wall time of one run.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$BIN" --cache-dir "$2" run "$manifest" --executor "$1" > /dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "slurm executor: $(date -u '+%Y-%m-%d %H:%M UTC'), $(machine), $(sbatch --version), $reps reps"
echo "| executor | cold run, 16 stages (s) | per stage (s) | warm run, 16 hits (s) |"
echo "| --- | ---: | ---: | ---: |"
for executor in local slurm; do
  cold=() warm=()
  for rep in $(seq 1 "$reps"); do
    cache="$work/cache-$executor-$rep"
    cold+=("$(seconds "$executor" "$cache")")
    warm+=("$(seconds "$executor" "$cache")")
  done
  c=$(printf '%s\n' "${cold[@]}" | median)
  w=$(printf '%s\n' "${warm[@]}" | median)
  printf '| %s | %.2f | %.3f | %.2f |\n' "$executor" "$c" "$(awk -v c="$c" 'BEGIN { print c / 16 }')" "$w"
done
