#!/bin/bash
# (A copy of the team's shared tools/systemd-container.sh, kept in the repository so that
# test/packaging/deb-systemd.test.ts runs in CI.)
# Boot a throw-away Debian bookworm with a real systemd as PID 1 inside systemd-nspawn,
# on a machine whose own PID 1 is not systemd, and run commands in it.
#
#   systemd-container.sh up            build the root file system once (about 40 s), boot it
#   systemd-container.sh exec CMD...   run CMD inside the booted container (as root)
#   systemd-container.sh cp FILE       copy a host file to /mnt/share inside the container
#   systemd-container.sh down          shut it down cleanly
#
# Settings: NE_CT_DIR (work folder, default /var/tmp/ne-systemd-ct), NE_CT_EPHEMERAL=1
# (boot a throw-away copy of the root file system: every boot starts clean), NE_CT_ROOTFS
# (where the root file system is built, default $NE_CT_DIR/root; built once under a lock, so
# several work folders with NE_CT_EPHEMERAL=1 can share one and boot at the same time).
# Notes: the container shares the host network (a service in it listening on
# 127.0.0.1:6379 clashes with one on the host); cgroup limits (MemoryMax, CPUQuota) are
# not enforced inside; the container's /tmp is a fresh tmpfs; minbase has no ps or kill
# binaries (use the shell's kill); long-running programs belong in units or in
# `systemd-run --wait --pipe`, not in plain exec.
set -euo pipefail
W=${NE_CT_DIR:-/var/tmp/ne-systemd-ct}
ROOT=${NE_CT_ROOTFS:-$W/root}
PIDFILE=$W/nspawn.pid
mkdir -p "$W"

mirror() {   # the Debian mirror this machine's apt already uses
  local f u
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    u=$(awk '/^URIs:/{print $2; exit}' "$f"); [ -n "$u" ] && { echo "$u"; return; }
  done
  awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null
}

leader() {   # PID of the container's systemd, as seen from the host
  local ns; ns=$(cat "$PIDFILE")
  ps -o pid=,comm= --ppid "$ns" | awk '$2=="systemd"{print $1}'
}

down() {
  local ns; ns=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$ns" ] && [ "$(cat /proc/$ns/comm 2>/dev/null)" = systemd-nspawn ]; then
    kill -TERM "$ns"
    for _ in $(seq 300); do kill -0 "$ns" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$ns" 2>/dev/null && kill -KILL "$ns"
  fi
  rm -f "$PIDFILE"
}

up() {
  down
  if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap systemd-container
  fi
  mkdir -p "$(dirname "$ROOT")"
  (
    flock 9
    if [ ! -e "$ROOT.done" ]; then
      rm -rf "$ROOT"
      debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$ROOT" "$(mirror)"
      touch "$ROOT.done"
    fi
  ) 9>"$ROOT.lock"
  local eph=(); [ "${NE_CT_EPHEMERAL:-0}" = 1 ] && eph=(--ephemeral)
  mkdir -p "$W/share"
  # --register=no and --keep-unit: no host systemd/machined/dbus is needed.
  setsid systemd-nspawn -D "$ROOT" -M ne-ct --boot --register=no --keep-unit "${eph[@]}" \
    --bind-ro="$W/share:/mnt/share" \
    --console=read-only </dev/null >"$W/nspawn.log" 2>&1 &
  echo $! > "$PIDFILE"
  local l="" s=""
  for _ in $(seq 100); do l=$(leader || true); [ -n "$l" ] && break; sleep 0.1; done
  [ -n "$l" ] || { cat "$W/nspawn.log"; exit 1; }
  for _ in $(seq 600); do
    s=$(nsenter -t "$l" -a systemctl is-system-running 2>/dev/null || true)
    case "$s" in running|degraded) break;; esac; sleep 0.1
  done
  echo "container systemd: $s"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  exec) shift; nsenter -t "$(leader)" -a "$@" ;;
  cp) mkdir -p "$W/share"; cp "$2" "$W/share/" ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
