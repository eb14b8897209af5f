#!/bin/bash
# podman with `--runtime SPECTRUM --annotation run.oci.handler=wasm`: an image holding one WASI
# module (imported from a tarball, no registry) runs in the wasm handler. Checks output, argv,
# environment and exit status, --rm, a detached module and `stop` (SIGTERM: the engine, PID 1 of
# the container, ends on it without the SIGKILL fallback), rm, and that nothing is left behind.
# exec does not apply: the image has no program but the module.
# Usage: podman_wasm_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman is not installed"; exit 77; }
command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || { echo "SKIP: podman's conmon is missing"; exit 77; }
command -v clang-16 >/dev/null || { echo "SKIP: clang-16 is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-podman-wasm.XXXXXX)
failures=0
podman=(podman --root "$tmp/storage" --runroot "$tmp/run" --tmpdir "$tmp/tmp" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file --runtime "$spectrum")
ids_file=$tmp/ids
run_flags=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --annotation run.oci.handler=wasm)
image=localhost/spectrum-wasm:test
cleanup() {
  "${podman[@]}" rm --all --force >/dev/null 2>&1
  grep " $tmp/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
mkdir -p "$tmp/rootfs"
clang-16 --target=wasm32-wasi -O2 -o "$tmp/rootfs/hello.wasm" "$repo/tests/container/wasm/hello.c" || exit 1
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
if ! "${podman[@]}" import --change 'ENTRYPOINT ["/hello.wasm"]' --change 'ENV GREETING=from-podman' \
    "$tmp/rootfs.tar" "$image" >"$tmp/import.log" 2>&1; then
  cat "$tmp/import.log"
  echo "FAIL: podman import"
  exit 1
fi

podman_run() {  # podman_run NAME ARGS...: runs to completion, prints the output
  local name=$1
  shift
  "${podman[@]}" run --name "$name" "${run_flags[@]}" "$image" "$@"
  local status=$?
  "${podman[@]}" inspect "$name" --format '{{.Id}}' >>"$ids_file" 2>/dev/null
  "${podman[@]}" rm "$name" >/dev/null 2>&1
  return $status
}
check "wasm: output, argv, env" "hello from wasm argc=3 a b GREETING=from-podman" "$(podman_run out a b 2>&1)"
podman_run status exit 9 >/dev/null 2>&1
check "wasm: exit status" "9" "$?"
check "wasm: run --rm" "hello from wasm argc=1 GREETING=from-podman removed" \
  "$( ("${podman[@]}" run --rm "${run_flags[@]}" "$image" 2>&1 && echo removed) | tr '\n' ' ' | sed 's/ $//')"

"${podman[@]}" run -d --name long "${run_flags[@]}" "$image" sleep 1000 >>"$ids_file" 2>&1
check "wasm: detached run" "running" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
check "wasm: top lists the engine" "yes" "$("${podman[@]}" top long 2>&1 | grep -q '/hello.wasm sleep 1000' && echo yes || echo no)"
# SIGTERM ends the engine (143), before stop's 30 s fallback to SIGKILL would.
"${podman[@]}" stop -t 30 long >/dev/null 2>&1
check "wasm: stop by SIGTERM" "exited 143" "$("${podman[@]}" inspect long --format '{{.State.Status}} {{.State.ExitCode}}' 2>&1)"
"${podman[@]}" rm long >/dev/null 2>&1
check "wasm: rm" "" "$("${podman[@]}" ps -a --format '{{.Names}}' 2>&1)"

left_state="" left_groups=""
for id in $(cat "$ids_file"); do
  [ -e "/run/spectrum/$id" ] && left_state="$left_state $id"
  left_groups="$left_groups$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "*$id*" 2>/dev/null)"
done
check "containers seen" "3" "$(grep -c -E '^[0-9a-f]{64}$' "$ids_file")"
check "no runtime state left" "" "$left_state"
check "no cgroup left" "" "$left_groups"
check "no mount left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"
check "no engine left" "" "$(pgrep -f 'hello.wasm sleep 1000')"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all podman wasm checks passed"
