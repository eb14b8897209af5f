#!/bin/bash
# The real-client test: a private containerd (own config, root, state and socket under a temporary
# folder, CRI plugin off) runs containers from a locally built busybox image with spectrum as the
# runc binary. Checks output and exit codes, terminal, kill, exec, ps, pause/resume, and that
# nothing is left behind (state, cgroups, processes). Usage: containerd_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
spectrum_oci=${3:+$(readlink -f "$3")}
for tool in containerd ctr umoci skopeo; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }

tmp=$(mktemp -d /tmp/spectrum-containerd.XXXXXX)
ns=spectrum-test-$$
failures=0
containerd_pid=
C="ctr -a $tmp/containerd.sock -n $ns"
R="--snapshotter native --runc-binary $spectrum --runc-root $tmp/runc"

cleanup() {
  if [ -n "$containerd_pid" ]; then
    for task in $($C task ls -q 2>/dev/null); do
      $C task kill -s KILL "$task" >/dev/null 2>&1
      sleep 0.2
      $C task delete -f "$task" >/dev/null 2>&1
    done
    for container in $($C container ls -q 2>/dev/null); do $C container delete "$container" >/dev/null 2>&1; done
    kill "$containerd_pid" 2>/dev/null
    wait "$containerd_pid" 2>/dev/null
  fi
  # Shims of this containerd outlive it: end the ones started with our socket.
  for pid in $(pgrep -f -- "-address $tmp/containerd.sock" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  grep -q " $tmp" /proc/self/mountinfo && grep " $tmp" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$repo/tests/container/check.sh" || exit 1

# The image: busybox-static root filesystem -> OCI layout (umoci) -> docker archive (skopeo).
(
  cd "$tmp" &&
  umoci init --layout oci &&
  umoci new --image oci:latest &&
  umoci unpack --image oci:latest bundle >/dev/null &&
  "$repo/scripts/busybox-rootfs" bundle/rootfs &&
  umoci repack --image oci:latest bundle &&
  umoci config --image oci:latest --config.cmd /bin/sh --config.env PATH=/bin:/sbin &&
  skopeo copy -q oci:oci:latest docker-archive:img.tar:localhost/spectrum-busybox:latest
) >"$tmp/image.log" 2>&1 || { cat "$tmp/image.log"; echo "FAIL: cannot build the image"; exit 1; }
rm -rf "$tmp/bundle" "$tmp/oci"

cat > "$tmp/config.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
TOML
containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do $C version >/dev/null 2>&1 && break; sleep 0.1; done
$C version >/dev/null 2>&1 || { cat "$tmp/containerd.log"; echo "FAIL: containerd did not start"; exit 1; }
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
for controller in memory pids freezer devices cpu cpuacct cpuset; do rmdir /sys/fs/cgroup/$controller/$ns 2>/dev/null; done
rmdir /sys/fs/cgroup/$ns 2>/dev/null

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
