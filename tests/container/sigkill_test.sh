#!/bin/bash
# Nothing is left behind by a SIGKILLed `spectrum run --tier container`: its container's
# processes die with it, its mounts lived only in the container's mount namespace, and its
# cgroups (the only thing a kill can leave) are collected by the next run.
# Usage: sigkill_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v pgrep >/dev/null || { echo "SKIP: needs pgrep (procps)"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-sigkill.XXXXXX)
failures=0
victim=""
cleanup() {
  [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
groups_of() { find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name "run-$1-container-*" 2>/dev/null | sort; }
# A marker argument that names the workload's processes on the host.
marker=$((RANDOM * 7 + 1000))
workload_pids() { pgrep -f "^/bin/sleep $marker\$"; }

# A workload with children of its own: the whole tree must go, not only the init.
"$spectrum" run --tier container --rootfs "$tmp/rootfs" --memory 64M -- \
  /bin/sh -c "/bin/sleep $marker & /bin/sleep $marker & wait" &
victim=$!
for _ in $(seq 100); do
  [ -n "$(groups_of $victim)" ] && [ "$(workload_pids | wc -l)" = 2 ] && break
  sleep 0.05
done
check "workload running before the kill" "2" "$(workload_pids | wc -l)"
left=$(groups_of $victim)
[ -n "$left" ] || { echo "FAIL: the run's cgroups were not found"; exit 1; }
kill -9 "$victim"
wait "$victim" 2>/dev/null
victim=""
for _ in $(seq 100); do
  [ -z "$(workload_pids)" ] && break
  sleep 0.05
done
check "no workload process left" "" "$(workload_pids)"
check "no mount of the rootfs left" "0" "$(grep -c "$tmp" /proc/self/mountinfo)"

# The next run, of any workload, collects the groups the killed one left.
check "next run succeeds" "hello" "$("$spectrum" run --tier container --rootfs "$tmp/rootfs" -- /bin/echo hello)"
still=""
for d in $left; do [ -d "$d" ] && still="$still $d"; done
check "stale cgroups collected" "" "$still"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all SIGKILL checks passed"
