#!/bin/bash
# podman as a second real client of Spectrum's runtime (`--runtime SPECTRUM`): no registry, the image
# is a busybox root filesystem imported from a tarball; storage, run state and the runtime's own
# state live under a temporary folder. Checks output and exit codes, exec, top, pause/unpause,
# stop (SIGTERM ignored by PID 1, then SIGKILL), rm, and that nothing is left behind.
# Usage: podman_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman is not installed (Debian package podman, in scripts/deps.txt)"; exit 77; }
command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || { echo "SKIP: podman's conmon is missing"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-podman.XXXXXX)
failures=0
# vfs storage: no overlay mounts to depend on; cgroupfs: no systemd here; the file events backend:
# no journald. The runtime keeps its default state folder, /run/spectrum: podman 4.3's cleanup
# process calls `delete` without the --runtime-flag options, so a --root given that way is lost.
podman=(podman --root "$tmp/storage" --runroot "$tmp/run" --tmpdir "$tmp/tmp" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file --runtime "$spectrum")
ids_file=$tmp/ids  # a file: podman_run often runs in a $(...) subshell
# podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, above this host's hard limits (root
# lacks CAP_SYS_RESOURCE): limits that only lower them.
run_flags=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
image=localhost/spectrum-busybox:test
cleanup() {
  "${podman[@]}" rm --all --force >/dev/null 2>&1
  grep " $tmp/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
if ! "${podman[@]}" import "$tmp/rootfs.tar" "$image" >"$tmp/import.log" 2>&1; then
  cat "$tmp/import.log"
  echo "FAIL: podman import"
  exit 1
fi

# Each run keeps its container until checked, so that its id is known for the leftover checks.
podman_run() {  # podman_run NAME ARGS...: runs to completion, prints the output
  local name=$1
  shift
  "${podman[@]}" run --name "$name" "${run_flags[@]}" "$image" "$@"
  local status=$?
  "${podman[@]}" inspect "$name" --format '{{.Id}}' >>"$ids_file" 2>/dev/null
  "${podman[@]}" rm "$name" >/dev/null 2>&1
  return $status
}
check "output comes back" "hello from spectrum" "$(podman_run echo /bin/echo hello from spectrum 2>&1)"
podman_run status /bin/sh -c 'exit 7' 2>/dev/null
check "exit status comes back" "7" "$?"
check "pid 1 in its own namespace" "1" "$(podman_run pid /bin/sh -c 'echo $$' 2>&1)"
# --rm: podman's cleanup process deletes the container itself.
check "run --rm" "removed" "$("${podman[@]}" run --rm "${run_flags[@]}" "$image" /bin/true 2>&1 && echo removed)"

"${podman[@]}" run -d --name long "${run_flags[@]}" "$image" /bin/sleep 1000 >>"$ids_file" 2>&1
check "detached run" "running" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
check "exec output" "exec ok" "$("${podman[@]}" exec long /bin/echo exec ok 2>&1)"
"${podman[@]}" exec long /bin/sh -c 'exit 3' 2>/dev/null
check "exec exit status" "3" "$?"
check "top lists the container's process" "yes" "$("${podman[@]}" top long 2>&1 | grep -q 'sleep 1000' && echo yes)"
# Terminals (console socket) for the init and for exec, through script(1) for a pty of our own.
if command -v script >/dev/null; then
  check "exec -t gets a terminal" "is-a-tty" "$(timeout 60 script -qec "${podman[*]} exec -t long sh -c 'tty >/dev/null && echo is-a-tty'" /dev/null </dev/null | tr -d '\r\0' | grep -o is-a-tty)"
  check "run -t gets a terminal" "is-a-tty" "$(timeout 60 script -qec "${podman[*]} run --rm -t ${run_flags[*]} $image sh -c 'tty >/dev/null && echo is-a-tty'" /dev/null </dev/null | tr -d '\r\0' | grep -o is-a-tty)"
fi
"${podman[@]}" pause long >/dev/null 2>&1
check "pause" "paused" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
"${podman[@]}" unpause long >/dev/null 2>&1
check "unpause" "running" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
# PID 1 ignores SIGTERM without a handler: stop falls back to SIGKILL after the timeout.
"${podman[@]}" stop -t 1 long >/dev/null 2>&1
check "stop" "exited 137" "$("${podman[@]}" inspect long --format '{{.State.Status}} {{.State.ExitCode}}' 2>&1)"
"${podman[@]}" rm long >/dev/null 2>&1
check "rm" "" "$("${podman[@]}" ps -a --format '{{.Names}}' 2>&1)"

# Nothing left: the runtime's state, the container's cgroups, mounts under the test's folder.
left_state="" left_groups=""
for id in $(cat "$ids_file"); do
  [ -e "/run/spectrum/$id" ] && left_state="$left_state $id"
  left_groups="$left_groups$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "*$id*" 2>/dev/null)"
done
check "containers seen" "4" "$(grep -c -E '^[0-9a-f]{64}$' "$ids_file")"
check "no runtime state left" "" "$left_state"
check "no cgroup left" "" "$left_groups"
check "no mount left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all podman checks passed"
