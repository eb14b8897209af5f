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
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/podman_env.sh" || exit 1
podman_env podman-wasm clang-16
run_flags+=(--annotation run.oci.handler=wasm)
image=localhost/spectrum-wasm:test
mkdir -p "$tmp/rootfs/data"
clang-16 --target=wasm32-wasi -O2 -o "$tmp/rootfs/hello.wasm" "$repo/tests/container/wasm/hello.c" || exit 1
echo "a file in the working directory" >"$tmp/rootfs/data/input.txt"
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
podman_import "$tmp/rootfs.tar" "$image" --change 'ENTRYPOINT ["/hello.wasm"]' --change 'ENV GREETING=from-podman'

check "wasm: output, argv, env" "hello from wasm argc=3 a b GREETING=from-podman" "$(podman_run out a b 2>&1)"
podman_run status exit 9 >/dev/null 2>&1
check "wasm: exit status" "9" "$?"
check "wasm: run --rm" "hello from wasm argc=1 GREETING=from-podman removed" \
  "$( ("${podman[@]}" run --rm "${run_flags[@]}" "$image" 2>&1 && echo removed) | tr '\n' ' ' | sed 's/ $//')"

# A terminal (podman run -t: the console socket's pty is the module's stdio), through script(1).
if command -v script >/dev/null; then
  out=$(timeout 60 script -qec "${podman[*]} run --rm -t ${run_flags[*]} $image tty" /dev/null </dev/null | tr -d '\r\0')
  check "wasm: run -t gives the module a terminal" "stdin tty=1 stdout tty=1" "$(grep -o 'stdin tty=. stdout tty=.' <<<"$out")"
fi
# process.cwd (the image's WORKDIR, podman's --workdir): relative paths resolve there.
check "wasm: --workdir" "a file in the working directory" "$("${podman[@]}" run --rm --workdir /data "${run_flags[@]}" "$image" cat input.txt 2>&1)"

"${podman[@]}" run -d --name long "${run_flags[@]}" "$image" sleep 1000 >>"$ids_file" 2>&1
check "wasm: detached run" "running" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
check "wasm: top lists the engine" "yes" "$("${podman[@]}" top long 2>&1 | grep -q '/hello.wasm sleep 1000' && echo yes || echo no)"
# SIGTERM ends the engine (143), before stop's 30 s fallback to SIGKILL would.
"${podman[@]}" stop -t 30 long >/dev/null 2>&1
check "wasm: stop by SIGTERM" "exited 143" "$("${podman[@]}" inspect long --format '{{.State.Status}} {{.State.ExitCode}}' 2>&1)"
"${podman[@]}" rm long >/dev/null 2>&1
check "wasm: rm" "" "$("${podman[@]}" ps -a --format '{{.Names}}' 2>&1)"

podman_check_nothing_left "3"
check "no engine left" "" "$(pgrep -f 'hello.wasm sleep 1000')"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all podman wasm checks passed"
