#!/usr/bin/env bash
# A real single-node SLURM cluster on 127.0.0.1 with one fake GPU (GRES), for CI and for trying the
# cluster path on one machine. Needs root and Debian's packages.
#   bash .ci/slurm.sh start   # install (once), configure, start munge, slurmctld, slurmd
#   bash .ci/slurm.sh stop    # stop the daemons by their pid files, remove /etc/slurm/slurm.conf
# Recipe: ../shared/notes/local-slurm.md (verified with slurm 22.05.8 on this machine type).
set -euo pipefail
CLUSTER_DIR=${SLURM_CLUSTER_DIR:-/tmp/gupta-slurm}
HOST=$(hostname)

start() {
    if [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then
        echo "slurm.sh: a cluster is already up"
        return 0
    fi
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurmctld slurmd slurm-client munge >/dev/null
    fi
    if ! getent hosts "$HOST" | grep -q '^127\.'; then
        echo "slurm.sh: hostname $HOST does not resolve to 127.0.0.1; add it to /etc/hosts" >&2
        exit 1
    fi
    mkdir -p "$CLUSTER_DIR"/{state,spool,run,log} /etc/slurm
    local cpus mem
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 8 / 10 ))
    # the jobstep plugin clears SLURM_CONF, so the config must sit at the default path
    cat >/etc/slurm/slurm.conf <<EOF
ClusterName=gupta-ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$CLUSTER_DIR/state
SlurmdSpoolDir=$CLUSTER_DIR/spool
SlurmctldPidFile=$CLUSTER_DIR/run/slurmctld.pid
SlurmdPidFile=$CLUSTER_DIR/run/slurmd.pid
SlurmctldLogFile=$CLUSTER_DIR/log/slurmctld.log
SlurmdLogFile=$CLUSTER_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
GresTypes=gpu
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    cat >/etc/slurm/gres.conf <<EOF
AutoDetect=off
NodeName=$HOST Name=gpu Count=1 File=/dev/null
EOF
    install -d -o munge -g munge -m 0755 /run/munge
    [ -f /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create 2>/dev/null || true
    # daemons of an earlier session may have been killed without cleaning up: clear their traces
    rm -f "$CLUSTER_DIR"/run/*.pid /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged --force
    /usr/sbin/slurmctld -f /etc/slurm/slurm.conf
    /usr/sbin/slurmd -f /etc/slurm/slurm.conf
    for _ in $(seq 1 60); do
        if [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then
            echo "slurm.sh: cluster up ($HOST, $cpus CPUs, ${mem} MB, gpu:1 fake GRES)"
            return 0
        fi
        sleep 0.5
    done
    echo "slurm.sh: the node did not become idle; logs in $CLUSTER_DIR/log" >&2
    sinfo >&2 || true
    exit 1
}

stop() {
    for f in "$CLUSTER_DIR/run/slurmd.pid" "$CLUSTER_DIR/run/slurmctld.pid" /run/munge/munged.pid; do
        if [ -f "$f" ]; then kill -TERM "$(cat "$f")" 2>/dev/null || true; fi
    done
    # with slurm-client installed and the daemons gone, a present slurm.conf slows every snakemake call
    rm -f /etc/slurm/slurm.conf /etc/slurm/gres.conf
    echo "slurm.sh: cluster stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
