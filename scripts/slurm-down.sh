#!/usr/bin/env bash
# Stops what scripts/slurm-up.sh started in STATE ($1, else $SLURM_STATE, else
# ${TMPDIR:-/tmp}/pipeline-slurm): its jobs, slurmd, slurmctld and munged, by pid. Idempotent:
# a daemon already gone is skipped. Leaves the state folder (logs) in place.
set -euo pipefail

STATE=${1:-${SLURM_STATE:-${TMPDIR:-/tmp}/pipeline-slurm}}
[ -d "$STATE" ] || { echo "slurm-down: no state folder $STATE; nothing to stop"; exit 0; }
STATE=$(cd "$STATE" && pwd)
export SLURM_CONF="$STATE/slurm.conf"

# The pid in a pid file, when that process is alive and its command line mentions $STATE (so a
# recycled pid of some other program is never signalled).
pid_of() {
  local p; p=$(cat "$STATE/run/$1.pid" 2>/dev/null) || return 1
  [ -n "$p" ] && { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$STATE/" && echo "$p"
}

# Alive: exists and is not a zombie.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# SIGTERM, then SIGKILL after $2 seconds.
stop() {
  local name=$1 grace=$2 p
  p=$(pid_of "$name") || { rm -f "$STATE/run/$name.pid"; return 0; }
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do alive "$p" || break; sleep 0.1; done
  if alive "$p"; then
    echo "slurm-down: $name ($p) ignored SIGTERM; SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null || true
    while alive "$p"; do sleep 0.1; done
  fi
  rm -f "$STATE/run/$name.pid"
  echo "slurm-down: stopped $name ($p)"
}

# Job steps (slurmstepd and the job's processes) outlive slurmd: cancel every job first while the
# controller still answers, and wait (10 s at most) until none runs.
if pid_of slurmctld >/dev/null && [ -f "$SLURM_CONF" ]; then
  jobs=$(squeue -h -o %A 2>/dev/null || true)
  [ -z "$jobs" ] || scancel --quiet $jobs 2>/dev/null || true
  for _ in $(seq 100); do
    [ -z "$(squeue -h -t RUNNING,COMPLETING,CONFIGURING -o %i 2>/dev/null)" ] && break
    sleep 0.1
  done
fi

stop slurmd 10
# A slurmstepd left behind (working folder $STATE/spool, inherited from slurmd) is ours too:
# SIGKILL it and the job processes under it.
tree() { echo "$1"; local c; for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; }
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = slurmstepd ] && [ "$(readlink "$d/cwd" 2>/dev/null)" = "$STATE/spool" ] || continue
  pids=$(tree "${d#/proc/}")
  kill -KILL $pids 2>/dev/null || true
  echo "slurm-down: killed leftover slurmstepd and its processes:" $pids
done
stop slurmctld 10
stop munged 5
rm -f "$STATE/munge/munge.socket"*
