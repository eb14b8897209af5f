#!/bin/bash
# Handler selection through the runc-compatible verbs, on one bundle whose root holds busybox and
# a WASI module: wasm-smart's two ways, the errors of handlers that cannot run (each at create,
# exit 1, naming the cause, nothing left), the `features` listing, and that `spectrum run` without
# runc's flags stays Spectrum's own run.
# Usage: handlers_test.sh SPECTRUM REPO_DIR SPECTRUM_OCI
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
spectrum_oci=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v clang-16 >/dev/null || { echo "SKIP: clang-16 is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-handlers.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/b/rootfs" >/dev/null || exit 1
clang-16 --target=wasm32-wasi -O2 -o "$tmp/b/rootfs/hello.wasm" "$repo/tests/container/wasm/hello.c" || exit 1
(cd "$tmp/b" && "$spectrum" spec --no-terminal) || exit 1
# The containers' cgroups under a parent of this run's own (the default, spectrum/ID, is shared
# with any other copy of this test running on the machine).
cgroup_parent=spectrum-handlers-$$
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"]="/"+sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))' "$tmp/b/config.json" "$cgroup_parent"
cp "$tmp/b/config.json" "$tmp/config.orig"
bundle() {  # bundle 'PYTHON on c': the original config, edited
  python3 - "$tmp/config.orig" "$tmp/b/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
}
# What a container of this test could leave: its state folder, its cgroup (which a process left
# alive would keep).
nothing_left() {
  ls "$root" 2>/dev/null | grep -v seccomp
  ls -d /sys/fs/cgroup/*/$cgroup_parent /sys/fs/cgroup/$cgroup_parent 2>/dev/null
}

bundle "c['process']['args']=['/hello.wasm','smart']; c['annotations']={'run.oci.handler':'wasm-smart'}"
check "wasm-smart: a .wasm entrypoint runs in the engine" "hello from wasm argc=2 smart GREETING=(unset)" \
  "$("$spectrum" --root "$root" run --bundle "$tmp/b" s1 2>&1)"
bundle "c['process']['args']=['/bin/echo','native']; c['annotations']={'run.oci.handler':'wasm-smart'}"
check "wasm-smart: anything else runs as a container" "native" "$("$spectrum" --root "$root" run --bundle "$tmp/b" s2 2>&1)"
bundle "c['process']['args']=['/bin/echo','native']; c['annotations']={'module.wasm.image/variant':'compat-smart'}"
check "compat-smart: the same" "native" "$("$spectrum" --root "$root" run --bundle "$tmp/b" s3 2>&1)"

# Each refusal: at create, exit 1, one line naming the cause, no state left.
refused() {  # refused NAME EXPECTED-TEXT [BINARY]
  local out status
  out=$("${3:-$spectrum}" --root "$root" create --bundle "$tmp/b" r 2>&1)
  status=$?
  check "$1: refused at create" "1 yes" "$status $(grep -q -- "$2" <<<"$out" && echo yes || echo "no: $out")"
  check "$1: nothing left" "" "$(nothing_left)"
}
bundle "c['process']['args']=['/bin/busybox']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: not a module" "/bin/busybox is not a valid WebAssembly module"
bundle "c['process']['args']=['/hello.wasm']; c['process']['cwd']='/no-such-dir'; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: a cwd that is not there" "/no-such-dir"
# The module's path resolves inside the container's root: neither a symlink of the image nor ".."
# reaches a module of the host (a valid one waits there).
mkdir -p "$tmp/outside"
cp "$tmp/b/rootfs/hello.wasm" "$tmp/outside/host.wasm"
ln -s "$tmp/outside/host.wasm" "$tmp/b/rootfs/abs-link.wasm"
ln -s "../../../../../../../..$tmp/outside/host.wasm" "$tmp/b/rootfs/dots-link.wasm"
bundle "c['process']['args']=['/abs-link.wasm']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: a symlink to a host path stays in the root" "no such file in the root filesystem"
bundle "c['process']['args']=['/dots-link.wasm']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: a symlink climbing with .. stays in the root" "no such file in the root filesystem"
bundle "c['process']['args']=['/../../../../../../..$tmp/outside/host.wasm']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: a path climbing with .. stays in the root" "no such file in the root filesystem"
bundle "c['process']['args']=['/hello.wasm']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm under spectrum-oci" "handler wasm: not in this binary" "$spectrum_oci"
bundle "c['process']['args']=['/bin/true']; c['annotations']={'run.oci.handler':'krun'}"
refused "krun (vm) under spectrum-oci" "handler vm: not in this binary" "$spectrum_oci"
bundle "c['process']['args']=['/bin/busybox']; c['annotations']={'run.oci.handler':'vm'}"
if [ -c /dev/kvm ]; then
  # busybox-static is static: a program the tier cannot run is one with an interpreter.
  printf '\177ELF\2\1\1\0\0\0\0\0\0\0\0\0' >"$tmp/b/rootfs/bin/short-elf"
  bundle "c['process']['args']=['/bin/short-elf']; c['annotations']={'run.oci.handler':'vm'}"
  refused "vm: a program the tier cannot run" "/bin/short-elf is not a 64-bit ELF executable"
else
  refused "vm: no /dev/kvm" "handler vm: this host has no /dev/kvm"
fi
bundle "c['process']['args']=['/bin/true']; c['annotations']={'module.wasm.image/variant':'bogus'}"
refused "unknown variant" "module.wasm.image/variant: unknown variant 'bogus'"
# A CRI pod's own (pause) container is a container whatever the binary's name: the RuntimeClass
# spectrum-wasm starts it with the spectrum-wasm link.
ln -s "$spectrum" "$tmp/spectrum-wasm"
bundle "c['process']['args']=['/bin/echo','pause']; c['annotations']={'io.kubernetes.cri.container-type':'sandbox'}"
check "a CRI sandbox container under spectrum-wasm is a container" "pause" "$("$tmp/spectrum-wasm" --root "$root" run --bundle "$tmp/b" pause 2>&1)"
ln -s "$spectrum" "$tmp/spectrum-sandbox"
bundle "c['process']['args']=['/bin/busybox','echo','in the sandbox']"
check "the spectrum-sandbox link runs the sandbox handler" "in the sandbox" "$("$tmp/spectrum-sandbox" --root "$root" run --bundle "$tmp/b" sbx 2>&1)"
bundle "c['process']['args']=['/bin/true']; c['annotations']={'run.oci.handler':'sandbox'}"
refused "sandbox under spectrum-oci" "handler sandbox: not in this binary" "$spectrum_oci"

# process.cwd: relative paths of the module resolve there (a preopen "." of it), $PWD names it.
mkdir -p "$tmp/b/rootfs/data"
echo "read from the working directory" >"$tmp/b/rootfs/data/input.txt"
bundle "c['process']['args']=['/hello.wasm','cat','input.txt']; c['process']['cwd']='/data'; c['annotations']={'run.oci.handler':'wasm'}"
check "wasm: process.cwd" "read from the working directory" "$("$spectrum" --root "$root" run --bundle "$tmp/b" cwd 2>&1)"
bundle "c['process']['args']=['/hello.wasm','write','made-here']; c['process']['cwd']='/data'; c['root']['readonly']=False; c['annotations']={'run.oci.handler':'wasm'}"
"$spectrum" --root "$root" run --bundle "$tmp/b" cwd-write >/dev/null 2>&1
check "wasm: a file made in process.cwd" "written" "$(cat "$tmp/b/rootfs/data/made-here" 2>&1)"

# process.terminal: the console socket's pty is the module's stdio (typed input included).
terminal_run() {  # terminal_run ID TYPED ARGS-PYTHON: runs with a terminal, prints what it wrote
  rm -f "$tmp/tty.sock" "$tmp/tty.out"
  python3 "$repo/tests/container/recvtty.py" "$tmp/tty.sock" "$2" "$tmp/tty.out" >"$tmp/recvtty.log" &
  local recv=$!
  for _ in $(seq 300); do grep -q ready "$tmp/recvtty.log" 2>/dev/null && break; sleep 0.1; done
  bundle "c['process']['terminal']=True; c['process']['args']=$3; c['annotations']={'run.oci.handler':'wasm'}"
  # 90 s: a loaded CI machine (two test slots, a fuzzer in the other) once took this run past 30 s.
  timeout 90 "$spectrum" --root "$root" run --console-socket "$tmp/tty.sock" --bundle "$tmp/b" "$1" >"$tmp/run.log" 2>&1
  local status=$?
  wait $recv
  if [ ! -s "$tmp/tty.out" ]; then  # what to go on with when the check below fails
    echo "terminal_run $1: spectrum exited $status: $(head -c 400 "$tmp/run.log"); recvtty: $(cat "$tmp/recvtty.log")" >&2
  fi
  tr -d '\r' <"$tmp/tty.out" 2>/dev/null
}
check "wasm: a terminal for stdin and stdout" "stdin tty=1 stdout tty=1" "$(terminal_run t1 '' "['/hello.wasm','tty']")"
check "wasm: input typed on the terminal" "read: typed-in" "$(terminal_run t2 'typed-in\n' "['/hello.wasm','readline']" | grep '^read:')"
# The console socket is the caller's: a path that is no socket, or too long for one, fails create.
bundle "c['process']['terminal']=True; c['process']['args']=['/hello.wasm','tty']; c['annotations']={'run.oci.handler':'wasm'}"
touch "$tmp/not-a-socket"
out=$("$spectrum" --root "$root" create --console-socket "$tmp/not-a-socket" --bundle "$tmp/b" ts1 2>&1)
check "console socket: not a socket refused" "1 yes" "$? $(grep -q -- '--console-socket: connect' <<<"$out" && echo yes || echo "no: $out")"
out=$("$spectrum" --root "$root" create --console-socket "$tmp/$(printf 'x%.0s' $(seq 120))" --bundle "$tmp/b" ts2 2>&1)
check "console socket: too long refused" "1 yes" "$? $(grep -q -- '--console-socket: path too long' <<<"$out" && echo yes || echo "no: $out")"
check "console socket: nothing left" "" "$(nothing_left)"

# runc's `run` in the foreground hands SIGTERM to the container: the shell's trap answers it.
bundle "c['process']['args']=['sh','-c','trap \"echo got-TERM; exit 3\" TERM; echo ready; while true; do sleep 0.2; done']"
"$spectrum" --root "$root" run --bundle "$tmp/b" fg >"$tmp/fg.out" 2>&1 &
fg=$!
for _ in $(seq 100); do grep -q ready "$tmp/fg.out" && break; sleep 0.1; done
kill -TERM $fg
wait $fg
check "run in the foreground: SIGTERM forwarded, the container's status" 3 "$?"
check "run in the foreground: the container's trap ran" got-TERM "$(grep -o got-TERM "$tmp/fg.out")"
check "run in the foreground: nothing left" "" "$(nothing_left)"
# A second signal ends the container (SIGKILL to its cgroup) when the first did not.
bundle "c['process']['args']=['sh','-c','trap \"echo ignored\" TERM; echo ready; while true; do sleep 0.2; done']"
"$spectrum" --root "$root" run --bundle "$tmp/b" fg3 >"$tmp/fg3.out" 2>&1 &
fg=$!
for _ in $(seq 100); do grep -q ready "$tmp/fg3.out" && break; sleep 0.1; done
kill -TERM $fg
for _ in $(seq 100); do grep -q ignored "$tmp/fg3.out" && break; sleep 0.1; done
kill -TERM $fg
wait $fg
check "run in the foreground: a second SIGTERM kills the container" "137 ignored" "$? $(grep -o ignored "$tmp/fg3.out")"
check "run in the foreground: nothing left after the second signal" "" "$(nothing_left)"
# The runtime blocks those signals to receive them; the hooks it runs start with none blocked.
# (cp, not a shell: shells clear their mask when they start.)
bundle "c['process']['args']=['/bin/true']; c['hooks']={'prestart':[{'path':'/bin/cp','args':['cp','/proc/self/status','$tmp/hook-status']}]}"
"$spectrum" --root "$root" run --bundle "$tmp/b" fg-hook >/dev/null 2>&1
check "run in the foreground: a hook starts with no signal blocked" "SigBlk:	0000000000000000" "$(grep SigBlk "$tmp/hook-status" 2>&1)"
# SIGINT too, to a wasm module: the engine ends with 128+2.
bundle "c['process']['args']=['/hello.wasm','sleep','1000']; c['annotations']={'run.oci.handler':'wasm'}"
"$spectrum" --root "$root" run --bundle "$tmp/b" fg2 >"$tmp/fg2.out" 2>&1 &
fg=$!
for _ in $(seq 100); do grep -q sleeping "$tmp/fg2.out" && break; sleep 0.1; done
kill -INT $fg
wait $fg
check "run in the foreground: SIGINT to a wasm module" 130 "$?"
check "run in the foreground: nothing left after SIGINT" "" "$(nothing_left)"

# create/start/state/kill/delete of a wasm container, as a shim does it.
bundle "c['process']['args']=['/hello.wasm','sleep','1000']; c['annotations']={'run.oci.handler':'wasm'}"
"$spectrum" --root "$root" create --bundle "$tmp/b" --pid-file "$tmp/pid" life >/dev/null 2>&1
check "wasm life: created" created "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
"$spectrum" --root "$root" start life
check "wasm life: running" running "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
check "wasm life: the process shows the module" "/hello.wasm sleep 1000" "$(tr '\0' ' ' </proc/$(cat "$tmp/pid")/cmdline | sed 's/ *$//')"
check "wasm life: events --stats" yes "$("$spectrum" --root "$root" events --stats life | grep -q '"memory"' && echo yes || echo no)"
"$spectrum" --root "$root" kill life TERM
for _ in $(seq 50); do [ "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ] && break; sleep 0.1; done
check "wasm life: SIGTERM stops it" stopped "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
"$spectrum" --root "$root" delete life
check "wasm life: nothing left" "" "$(nothing_left)"

check "features: the handlers" "container wasm wasm-smart vm sandbox" \
  "$("$spectrum" features | python3 -c 'import json,sys; print(" ".join(h["name"] for h in json.load(sys.stdin)["spectrum"]["handlers"]))')"
check "features: spectrum-oci has no wasm" "False" \
  "$("$spectrum_oci" features | python3 -c 'import json,sys; print([h["available"] for h in json.load(sys.stdin)["spectrum"]["handlers"] if h["name"] == "wasm"][0])')"
# Finding (b) of issue 14: without runc's flags, `spectrum run` is Spectrum's run, whatever follows.
out=$("$spectrum" run --no-such-flag -- /bin/true 2>&1)
check "spectrum run is ours: exit 125" 125 "$?"
check "spectrum run is ours: names the flag" yes "$(grep -q -- '--no-such-flag' <<<"$out" && echo yes || echo "no: $out")"

[ $failures -eq 0 ] && echo "all handler checks passed"
exit $((failures > 0))
