# Sourced by the containerd tests (like check.sh): one private containerd per test, with its own
# config, root, state and socket under a temporary folder, stopped on any exit together with its
# shims, its tasks, containers and sandboxes, and whatever it mounted there.
#   containerd_env NAME TOOL...  SKIP (77) without root or one of the tools; makes $tmp, sets
#                                $ns, $C (ctr on our socket and namespace), $R (ctr run flags:
#                                spectrum as the runc binary) and the EXIT trap
#   containerd_start [TOML]      writes the config (CRI plugin off unless CONTAINERD_CRI=1; TOML
#                                appended) and starts containerd; FAIL if it does not answer
#   busybox_image TAR [CMD] [NAME] [ARGS]   the busybox-static image as a docker archive (umoci,
#                                skopeo) named NAME (localhost/spectrum-busybox:latest) whose
#                                command is ARGS (/bin/sh; words); CMD runs in the unpacked bundle
#                                first (to add files to rootfs/)
#   leftovers                    prints what the runs left: tasks, mounts, runtime state,
#                                cgroups under $ns (empty when nothing)
# Expects $spectrum and $repo; a test may define containerd_extra_cleanup, run first on exit.
containerd_env() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
  done
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
  tmp=$(mktemp -d "/tmp/spectrum-$name.XXXXXX")
  ns=spectrum-$name-$$
  containerd_pid=
  C="ctr -a $tmp/containerd.sock -n $ns"
  R="--snapshotter native --runc-binary $spectrum --runc-root $tmp/runc"
  trap containerd_cleanup EXIT
}

containerd_cleanup() {
  declare -F containerd_extra_cleanup >/dev/null && containerd_extra_cleanup
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
  for controller in memory pids freezer devices cpu cpuacct cpuset; do rmdir /sys/fs/cgroup/$controller/$ns 2>/dev/null; done
  rmdir /sys/fs/cgroup/$ns 2>/dev/null
  rm -rf "$tmp"
}

containerd_start() {
  local disabled='"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"'
  [ "${CONTAINERD_CRI:-0}" = 1 ] || disabled="\"io.containerd.grpc.v1.cri\", $disabled"
  cat > "$tmp/config.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = [$disabled]
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
${1:-}
TOML
  containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
  containerd_pid=$!
  for _ in $(seq 100); do $C version >/dev/null 2>&1 && break; sleep 0.1; done
  $C version >/dev/null 2>&1 || { cat "$tmp/containerd.log"; echo "FAIL: containerd did not start"; exit 1; }
}

busybox_image() {
  local name=${3:-localhost/spectrum-busybox:latest} word cmd=()
  for word in ${4:-/bin/sh}; do cmd+=(--config.cmd "$word"); done
  (
    cd "$tmp" &&
    umoci init --layout oci &&
    umoci new --image oci:latest &&
    umoci unpack --image oci:latest bundle >/dev/null &&
    "$repo/scripts/busybox-rootfs" bundle/rootfs &&
    (cd bundle && eval "${2:-true}") &&
    umoci repack --image oci:latest bundle &&
    umoci config --image oci:latest "${cmd[@]}" --config.env PATH=/bin:/sbin &&
    skopeo copy -q oci:oci:latest "docker-archive:$1:$name"
  ) >"$tmp/image.log" 2>&1 || { cat "$tmp/image.log"; echo "FAIL: cannot build the image"; exit 1; }
  rm -rf "$tmp/bundle" "$tmp/oci"
}

leftovers() {
  local controller
  $C task ls -q 2>/dev/null | sed 's/^/task /'
  grep " $tmp/" /proc/self/mountinfo | awk '{print "mount " $5}'
  ls -A "$tmp/runc/$ns" 2>/dev/null | sed 's/^/state /'
  for controller in memory pids freezer devices cpu cpuacct; do
    [ -d /sys/fs/cgroup/$controller/$ns ] && find /sys/fs/cgroup/$controller/$ns -mindepth 1 -type d | sed 's/^/cgroup /'
  done
  [ -d /sys/fs/cgroup/$ns ] && find /sys/fs/cgroup/$ns -mindepth 1 -type d | sed 's/^/cgroup /'
}
