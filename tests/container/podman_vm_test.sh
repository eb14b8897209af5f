#!/bin/bash
# podman with `--runtime SPECTRUM --annotation run.oci.handler=sandbox` (the sandbox kernel on
# ptrace) and, where /dev/kvm exists, `=vm`: the busybox image (imported from a tarball, no
# registry) runs on Spectrum's own kernel. Checks output and exit status, that the kernel is the
# sandbox's and not the host's, exec (in the guest: its kernel, its pid 1, its exit status), exec -it
# with a terminal whose ^C reaches the guest process, stop (SIGTERM: the guest's pid 1 has no
# handler, so the tier ends it as Linux would not: 143 before the SIGKILL fallback), rm, and that
# nothing is left behind: no runtime state, cgroup, mount or monitor.
# Usage: podman_vm_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/podman_env.sh" || exit 1
podman_env podman-vm python3
image=localhost/spectrum-busybox:vm
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
podman_import "$tmp/rootfs.tar" "$image"
base_flags=("${run_flags[@]}")

handlers="sandbox"
if [ -c /dev/kvm ] && "$spectrum" run --tier vm --rootfs "$tmp/rootfs" -- /bin/busybox true >/dev/null 2>&1; then
  handlers="$handlers vm"
else
  echo "note: the vm handler is not checked here (/dev/kvm absent or the vm tier cannot run)"
fi
host_release=$(uname -r)
seen=0

# `podman exec -it` in a pty of our own: waits for the guest's "ready", types ^C, and prints what
# came back and podman's exit status.
interrupt_exec() {
  python3 - "$@" <<'EOF'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, sent, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not sent and b"ready" in out:
        os.write(fd, b"\x03")
        sent = True
_, status = os.waitpid(pid, 0)
print(out.decode(errors="replace").replace("\r", "").strip().replace("\n", " "), os.waitstatus_to_exitcode(status))
EOF
}

for handler in $handlers; do
  run_flags=("${base_flags[@]}" --annotation "run.oci.handler=$handler")
  check "$handler: output" "hello from the guest" "$(podman_run "$handler-echo" /bin/echo hello from the guest 2>&1)"
  podman_run "$handler-status" /bin/sh -c 'exit 7' 2>/dev/null
  check "$handler: exit status" "7" "$?"
  out=$(podman_run "$handler-kernel" /bin/uname -r 2>&1)
  check "$handler: the kernel is Spectrum's" "yes" \
    "$([[ "$out" == *-spectrum && "$out" != "$host_release" ]] && echo yes || echo "no: $out")"
  seen=$((seen + 3))

  "${podman[@]}" run -d --name long "${run_flags[@]}" "$image" /bin/sleep 1000 >>"$ids_file" 2>&1
  seen=$((seen + 1))
  check "$handler: detached run" "running" "$("${podman[@]}" inspect long --format '{{.State.Status}}' 2>&1)"
  # exec is served by the guest's kernel: its uname, the guest's pid 1.
  out=$("${podman[@]}" exec long /bin/sh -c 'uname -r; tr "\0" " " </proc/1/cmdline' 2>&1)
  check "$handler: exec runs in the guest" "yes" \
    "$([[ "$(head -1 <<<"$out")" == *-spectrum && "$(tail -1 <<<"$out")" == "/bin/sleep 1000 " ]] && echo yes || echo "no: $out")"
  "${podman[@]}" exec long /bin/sh -c 'exit 3' 2>/dev/null
  check "$handler: exec exit status" "3" "$?"
  check "$handler: exec of a missing program" "yes" \
    "$("${podman[@]}" exec long /no/such/program >/dev/null 2>&1; [ $? -ne 0 ] && echo yes || echo no)"
  # exec -it: the guest process's stdio is a terminal, and ^C typed there interrupts it (the
  # terminal's SIGINT goes to the proxy, its session leader, which passes it on to the guest).
  out=$(interrupt_exec "${podman[@]}" exec -it long /bin/sh -c \
    '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; trap "echo got-int; exit 9" INT; echo ready; while :; do sleep 1; done')
  check "$handler: exec -it gets a terminal, ^C reaches the guest" "is-a-tty ready got-int 9" "${out//^C/}"
  "${podman[@]}" stop -t 30 long >/dev/null 2>&1
  check "$handler: stop" "exited 143" "$("${podman[@]}" inspect long --format '{{.State.Status}} {{.State.ExitCode}}' 2>&1)"
  "${podman[@]}" rm long >/dev/null 2>&1
  check "$handler: rm" "" "$("${podman[@]}" ps -a --format '{{.Names}}' 2>&1)"
done

podman_check_nothing_left "$seen"
check "no monitor left" "" "$(pgrep -f 'sleep 1000')"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all podman vm and sandbox checks passed"
