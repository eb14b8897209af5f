#!/bin/bash
# The real-client test: a private containerd (own config, root, state and socket under a temporary
# folder, CRI plugin off) runs containers from a locally built busybox image with spectrum as the
# runc binary. Checks output and exit codes, terminal, kill, exec, ps, pause/resume, and that
# nothing is left behind (state, cgroups, processes). Usage: containerd_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
spectrum_oci=${3:+$(readlink -f "$3")}
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/containerd_env.sh" || exit 1
containerd_env containerd containerd ctr umoci skopeo

# The image: busybox-static root filesystem -> OCI layout (umoci) -> docker archive (skopeo).
busybox_image "$tmp/img.tar"
containerd_start
$C images import "$tmp/img.tar" >/dev/null || { echo "FAIL: image import"; exit 1; }
image=localhost/spectrum-busybox:latest

# Output and exit code come back.
out=$($C run --rm $R $image t-out sh -c 'echo hello from the container; exit 3' 2>&1)
status=$?
check "output" "hello from the container" "$out"
check "exit code" 3 "$status"

# Resources from the client reach the container's cgroup (cgroupsPath /NAMESPACE/ID on v1).
if [ -d /sys/fs/cgroup/memory ]; then
  $C run -d $R --memory-limit 33554432 $image t-mem sleep 1000 >/dev/null
  check "memory limit from ctr" 33554432 "$(cat /sys/fs/cgroup/memory/$ns/t-mem/memory.limit_in_bytes 2>&1)"
  $C task kill -s KILL t-mem
  for _ in $(seq 50); do [ "$($C task ls | awk '$1 == "t-mem" {print $3}')" = STOPPED ] && break; sleep 0.1; done
  $C task delete t-mem >/dev/null
  $C container delete t-mem
fi

# The lean static runtime binary runs the same way.
if [ -n "$spectrum_oci" ]; then
  out=$($C run --rm --snapshotter native --runc-binary "$spectrum_oci" --runc-root "$tmp/runc" $image t-oci sh -c 'echo lean; exit 4' 2>&1)
  status=$?
  check "spectrum-oci output" "lean" "$out"
  check "spectrum-oci exit code" 4 "$status"
fi

# A terminal (ctr run -t: console socket) through script(1) for a pty.
if command -v script >/dev/null; then
  out=$(timeout 60 script -qec "$C run --rm -t $R $image t-tty sh -c 'tty >/dev/null && echo is-a-tty'" /dev/null </dev/null | tr -d '\r\0')
  check "terminal" "is-a-tty" "$(echo "$out" | grep -o is-a-tty)"
fi

# A long-running container: ps, exec, pause/resume, kill.
$C run -d $R $image t-long sleep 1000 >/dev/null
check "run -d" RUNNING "$($C task ls | awk '$1 == "t-long" {print $3}')"
pid=$($C task ls | awk '$1 == "t-long" {print $2}')
check "task ps lists the init" "$pid" "$($C task ps t-long | awk 'NR == 2 {print $1}')"
check "task exec" "exec-ok sleep" "$($C task exec --exec-id e1 t-long sh -c 'echo exec-ok $(cat /proc/1/comm)')"
$C task exec --exec-id e2 t-long sh -c 'exit 5'
check "task exec exit code" 5 "$?"
$C task pause t-long
check "pause" PAUSED "$($C task ls | awk '$1 == "t-long" {print $3}')"
$C task resume t-long
check "resume" RUNNING "$($C task ls | awk '$1 == "t-long" {print $3}')"
# PID 1 ignores SIGTERM without a handler: SIGKILL stops it.
$C task kill -s KILL t-long
for _ in $(seq 50); do [ "$($C task ls | awk '$1 == "t-long" {print $3}')" = STOPPED ] && break; sleep 0.1; done
check "kill" STOPPED "$($C task ls | awk '$1 == "t-long" {print $3}')"
$C task delete t-long >/dev/null
$C container delete t-long

# A second long one removed with delete --force (the shim's path for a running task).
$C run -d $R $image t-force sleep 1000 >/dev/null
$C task delete -f t-force >/dev/null 2>&1
$C container delete t-force 2>/dev/null

# Nothing left behind.
check "no tasks left" "" "$($C task ls -q)"
check "no mounts left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"
check "no runtime state left" "" "$(ls -A "$tmp/runc/$ns" 2>/dev/null)"
left=""
for controller in memory pids freezer devices cpu; do
  [ -d /sys/fs/cgroup/$controller/$ns ] && left="$left$(find /sys/fs/cgroup/$controller/$ns -mindepth 1 -type d)"
done
[ -d /sys/fs/cgroup/$ns ] && left="$left$(find /sys/fs/cgroup/$ns -mindepth 1 -type d)"
check "no cgroups left" "" "$left"
check "no container processes left" "" "$(pgrep -f 'sleep 1000' | while read -r p; do grep -l "$ns" /proc/$p/cgroup 2>/dev/null; done)"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
