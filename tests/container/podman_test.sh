#!/bin/bash
# podman as a second real client of Spectrum's runtime (`--runtime SPECTRUM`): no registry, the image
# is a busybox root filesystem imported from a tarball; storage, run state and the runtime's own
# state live under a temporary folder. Checks output and exit codes, exec, top, pause/unpause,
# stop (SIGTERM ignored by PID 1, then SIGKILL), rm, and that nothing is left behind.
# Usage: podman_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/podman_env.sh" || exit 1
podman_env podman
image=localhost/spectrum-busybox:test
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
podman_import "$tmp/rootfs.tar" "$image"

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
podman_check_nothing_left "4"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all podman checks passed"
