#!/usr/bin/env bash
# Starts a one-node Slurm cluster on 127.0.0.1 without systemd, for integration tests:
# munged (own key and socket), slurmctld and slurmd, all of their state under one folder.
#   scripts/slurm-up.sh [STATE]      STATE: $1, else $SLURM_STATE, else ${TMPDIR:-/tmp}/pipeline-slurm
# Then `. STATE/env.sh` and use sbatch/squeue/scancel/sinfo. Stop with scripts/slurm-down.sh STATE.
# Knobs: SLURM_CPUS (CPUs the node claims, default nproc), SLURM_GPUS (fake GPUs, default 2),
# SLURM_WAIT (seconds to wait for the node to be idle, default 60).
set -euo pipefail

STATE=${1:-${SLURM_STATE:-${TMPDIR:-/tmp}/pipeline-slurm}}
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
cd "$STATE"   # the daemons' working folder (core files, relative paths) is the state folder
CPUS=${SLURM_CPUS:-$(nproc)}
GPUS=${SLURM_GPUS:-2}
WAIT=${SLURM_WAIT:-60}

# 1. Packages: only when the binaries are missing.
if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null \
   || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-up: installing slurmctld slurmd slurm-client munge" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi

# A pid file names a live process of ours when that process's command line mentions $STATE.
ours() { local p; p=$(cat "$1" 2>/dev/null) || return 1; [ -n "$p" ] && { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$STATE/"; }
if ours "$STATE/run/slurmctld.pid" || ours "$STATE/run/slurmd.pid" || ours "$STATE/run/munged.pid"; then
  echo "slurm-up: daemons of $STATE are already running; run scripts/slurm-down.sh $STATE first" >&2
  exit 1
fi

mkdir -p "$STATE"/{munge,run,log,ctld,spool,dev,jobs}
chmod 755 "$STATE/munge"   # clients of any user reach the socket; the key itself is 0600
rm -f "$STATE"/log/*.log "$STATE"/run/*.pid "$STATE/munge/munge.socket"*
rm -rf "$STATE/ctld"/* "$STATE/spool"/*   # a fresh controller: no jobs from a previous run

# 2. munged with its own key, socket, pid, log and seed files.
[ -s "$STATE/munge/munge.key" ] || mungekey --create --keyfile="$STATE/munge/munge.key" 2>/dev/null \
  || dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$STATE/munge/munge.key"
SOCK="$STATE/munge/munge.socket"
setsid munged --foreground --force --socket="$SOCK" --key-file="$STATE/munge/munge.key" \
  --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
  --seed-file="$STATE/munge/munged.seed" </dev/null >>"$STATE/log/munged.out" 2>&1 &
echo $! >"$STATE/run/munged.pid"

# 3. Ports: Slurm's defaults (6817 controller, 6818 slurmd) unless they are taken.
busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
free_port() { local p=$1; while busy "$p" || busy "$((p + 1))"; do p=$((p + 10)); done; echo "$p"; }
CTLD_PORT=$(free_port 6817)
SLURMD_PORT=$((CTLD_PORT + 1))

# 4. Fake GPUs: Slurm wants character devices; symlinks to /dev/null are accepted.
for ((i = 0; i < GPUS; i++)); do ln -sfn /dev/null "$STATE/dev/nvidia$i"; done

NODE=$(hostname -s)
MEM_MB=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 1024; print (m < 512 ? 512 : m) }' /proc/meminfo)
cat >"$STATE/slurm.conf" <<EOF
# Written by scripts/slurm-up.sh: a one-node test cluster on 127.0.0.1.
ClusterName=pipeline
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# Node may claim more CPUs than it has (SLURM_CPUS) without being drained.
SlurmdParameters=config_overrides
# Short timeouts: quick start, quick detection; finished jobs stay visible to squeue for 5 minutes.
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
InactiveLimit=0
KillWait=5
Waittime=0
MinJobAge=300
# Schedule a batch job at submit time (the default may delay it by up to 3 s), and backfill every
# second so a job that fits runs beside a pending one (say, a CPU job behind one waiting for a GPU).
SchedulerParameters=batch_sched_delay=0,bf_interval=1
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
if [ "$GPUS" -gt 0 ]; then
  echo "NodeName=$NODE Name=gpu File=$STATE/dev/nvidia[0-$((GPUS - 1))]" >"$STATE/gres.conf"
else
  : >"$STATE/gres.conf"
fi

cat >"$STATE/env.sh" <<EOF
# Source me: clients (sbatch, squeue, scancel, sinfo) then talk to this cluster.
export SLURM_STATE='$STATE'
export SLURM_CONF='$STATE/slurm.conf'
# Slurm's clients find the munge socket through AuthInfo=socket=... in slurm.conf; the munge and
# unmunge tools read no variable: pass it, as in munge -n --socket="\$MUNGE_SOCKET".
export MUNGE_SOCKET='$SOCK'
EOF
export SLURM_CONF="$STATE/slurm.conf"

# Dumps the logs' tails and fails.
fail() {
  echo "slurm-up: $*" >&2
  for f in "$STATE"/log/*; do echo "== $f" >&2; tail -n 20 "$f" >&2 || true; done
  exit 1
}
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "munged did not create $SOCK"

# 5. The controller and the node daemon, in the foreground (-D) of their own sessions.
setsid slurmctld -D -i -f "$SLURM_CONF" </dev/null >>"$STATE/log/slurmctld.out" 2>&1 &
echo $! >"$STATE/run/slurmctld.pid"
# slurmd runs in $STATE/spool: its job steps (slurmstepd) inherit that working folder, which is how
# slurm-down.sh recognises a leftover one.
(cd "$STATE/spool" && exec setsid slurmd -D -f "$SLURM_CONF" -N "$NODE" </dev/null >>"$STATE/log/slurmd.out" 2>&1) &
echo $! >"$STATE/run/slurmd.pid"

# 6. Ready when the node reports idle.
deadline=$((SECONDS + WAIT))
until [ "$(sinfo -h -n "$NODE" -o %T 2>/dev/null)" = idle ]; do
  [ $SECONDS -lt $deadline ] || fail "node $NODE not idle after ${WAIT}s (state: $(sinfo -h -o %T 2>&1 || true))"
  ours "$STATE/run/slurmctld.pid" || fail "slurmctld exited"
  ours "$STATE/run/slurmd.pid" || fail "slurmd exited"
  sleep 0.2
done
echo "slurm-up: cluster up (node $NODE, $CPUS CPUs, $GPUS GPUs, port $CTLD_PORT); . $STATE/env.sh"
