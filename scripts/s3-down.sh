#!/usr/bin/env bash
# Stops the object store scripts/s3-up.sh started in STATE ($1, else $S3_STATE, else
# ${TMPDIR:-/tmp}/pipeline-s3), by pid: SIGTERM, SIGKILL after 15 s. Idempotent. Keeps
# STATE/data (the objects) and the log; remove STATE to forget them.
set -euo pipefail

STATE=${1:-${S3_STATE:-${TMPDIR:-/tmp}/pipeline-s3}}
[ -d "$STATE" ] || { echo "s3-down: no state folder $STATE; nothing to stop"; exit 0; }
STATE=$(cd "$STATE" && pwd)

# Alive: exists and is not a zombie.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

p=$(cat "$STATE/weed.pid" 2>/dev/null || true)
# Only a live process whose command line mentions $STATE/ (never a recycled pid).
if [ -n "$p" ] && { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$STATE/"; then
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 150); do alive "$p" || break; sleep 0.1; done
  if alive "$p"; then
    echo "s3-down: weed ($p) ignored SIGTERM; SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null || true
    while alive "$p"; do sleep 0.1; done
  fi
  echo "s3-down: stopped weed ($p)"
fi
rm -f "$STATE/weed.pid" "$STATE"/*.sock
