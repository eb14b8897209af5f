#!/bin/bash
# The wasm handler through a real client: a private containerd (as containerd_test.sh) imports an
# image built offline that holds one WASI module (tests/container/wasm/build-image) and runs it
# with `ctr run --runc-binary spectrum --annotation run.oci.handler=wasm`: the module's output,
# argv and environment, its exit code, the memory limit as the engine's budget (a module whose
# memory does not fit is ended as an OOM kill, 137; one that grows is refused past it), files of
# the root and of a read-only bind mount, task ps/pause/resume/metrics, `ctr task kill` (SIGTERM,
# which PID 1 would ignore without a handler), the other ways of choosing the handler (the
# module.wasm.image/variant annotation, the spectrum-wasm link) and the errors of those that
# cannot run, then that nothing is left behind.
# Usage: containerd_wasm_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/containerd_env.sh" || exit 1
containerd_env ctr-wasm containerd ctr umoci clang-16
W="$R --annotation run.oci.handler=wasm"

"$repo/tests/container/wasm/build-image" "$repo" "$tmp/image" >"$tmp/image.log" 2>&1 ||
  { cat "$tmp/image.log"; echo "FAIL: cannot build the wasm image"; exit 1; }

containerd_start
$C images import --base-name localhost/spectrum-wasm "$tmp/image/wasm.tar" >/dev/null || { echo "FAIL: image import"; exit 1; }
image=localhost/spectrum-wasm:latest
# ctr carries no image annotation into the spec (only CRI's image config would): the test passes them.

# A terminal (ctr run -t: the console socket's pty is the module's stdio), through script(1).
if command -v script >/dev/null; then
  out=$(timeout 60 script -qec "$C run --rm -t $W $image w-tty /hello.wasm tty" /dev/null </dev/null | tr -d '\r\0')
  check "wasm: run -t gives the module a terminal" "stdin tty=1 stdout tty=1" "$(grep -o 'stdin tty=. stdout tty=.' <<<"$out")"
fi

# Output, argv, the image's environment and the exit status come back.
# `ctr run` of a task that ends at once: its output was missing twice in CI under heavy load (two
# different runs here, the exit status right), never in quiet runs; not found whether ctr's copy or
# the shim's loses it. One more try when there is no output at all, with the same container name
# (a consistently broken path still fails), keeps this test about the runtime.
ctr_run() {
  local out status
  out=$($C run "$@" 2>&1)
  status=$?
  if [ -z "$out" ]; then
    echo "note: no output from ctr run $*: once more" >&2
    out=$($C run "$@" 2>&1)
    status=$?
  fi
  printf '%s' "$out"
  return $status
}

out=$(ctr_run --rm $W $image w-out /hello.wasm one two)
check "wasm: output, argv, env" "hello from wasm argc=3 one two GREETING=from-the-image" "$out"
out=$(ctr_run --rm $W --env GREETING=from-ctr $image w-env)
check "wasm: the image's entrypoint, env from the client" "hello from wasm argc=1 GREETING=from-ctr" "$out"
$C run --rm $W $image w-exit /hello.wasm exit 7 >/dev/null 2>&1
check "wasm: exit code" 7 "$?"

# The memory limit is the engine's budget, less what the engine itself holds: a module that grows
# past it has its growth refused (malloc returns NULL, as without overcommit) and goes on, with
# room left for the engine itself under the cgroup's limit; one whose initial memory (40 MiB) does
# not fit in 16 MiB is refused before it starts (137, named), while the same module runs in 96 MiB.
out=$(ctr_run --rm $W --memory-limit 100663296 $image w-grow /hello.wasm grow)
status=$?
check "wasm: growth past the limit: refused, the module goes on" 0 "$status"
check "wasm: growth past the limit: within it" yes "$(n=$(grep -oE 'refused after [0-9]+ MiB' <<<"$out" | grep -oE '[0-9]+'); [ -n "$n" ] && [ "$n" -gt 8 ] && [ "$n" -lt 96 ] && echo yes || echo "no: $out")"
out=$(ctr_run --rm $W --memory-limit 16777216 $image w-big /hello.wasm big)
status=$?
check "wasm: a module that does not fit: status" 137 "$status"
check "wasm: a module that does not fit: named" yes "$(grep -q 'exceeds the memory limit' <<<"$out" && echo yes || echo "no: $out")"
out=$(ctr_run --rm $W --memory-limit 100663296 $image w-big2 /hello.wasm big)
check "wasm: the same module fits in 96 MiB" "big ran" "$out"

# Files: the root, and a read-only bind mount (a preopen the module cannot write through).
mkdir -p "$tmp/data" && echo "host data" >"$tmp/data/file"
out=$(ctr_run --rm $W --mount type=bind,src=$tmp/data,dst=/data,options=rbind:ro $image w-cat /hello.wasm cat /data/file)
check "wasm: reads a bind mount" "host data" "$out"
$C run --rm $W --mount type=bind,src=$tmp/data,dst=/data,options=rbind:ro $image w-ro /hello.wasm write /data/new >/dev/null 2>&1
check "wasm: a read-only mount refuses writes" "1 absent" "$? $([ -e "$tmp/data/new" ] && echo present || echo absent)"
$C run --rm $W --mount type=bind,src=$tmp/data,dst=/data,options=rbind:rw $image w-rw /hello.wasm write /data/new >/dev/null 2>&1
check "wasm: a writable mount takes writes" "0 written" "$? $(cat "$tmp/data/new" 2>&1)"
out=$(ctr_run --rm $W $image w-root /hello.wasm cat /etc/passwd)
check "wasm: no host file through the root" yes "$(grep -q 'root:' <<<"$out" && echo "no: $out" || echo yes)"

# A long-running module: ps, pause/resume, stats, and `ctr task kill` (SIGTERM by default).
$C run -d $W $image w-long /hello.wasm sleep 1000 >/dev/null
check "wasm: run -d" RUNNING "$($C task ls | awk '$1 == "w-long" {print $3}')"
pid=$($C task ls | awk '$1 == "w-long" {print $2}')
check "wasm: task ps lists the engine" "$pid" "$($C task ps w-long | awk 'NR == 2 {print $1}')"
check "wasm: the engine is in the container's pid namespace" "$(readlink /proc/$pid/ns/pid)" \
  "$(readlink /proc/$pid/ns/pid | grep -v "$(readlink /proc/self/ns/pid)")"
$C task pause w-long
check "wasm: pause" PAUSED "$($C task ls | awk '$1 == "w-long" {print $3}')"
$C task resume w-long
check "wasm: resume" RUNNING "$($C task ls | awk '$1 == "w-long" {print $3}')"
check "wasm: metrics" yes "$($C task metrics w-long 2>/dev/null | grep -qi memory && echo yes || echo no)"
$C task kill w-long
for _ in $(seq 100); do [ "$($C task ls | awk '$1 == "w-long" {print $3}')" = STOPPED ] && break; sleep 0.1; done
check "wasm: ctr task kill (SIGTERM) stops it" STOPPED "$($C task ls | awk '$1 == "w-long" {print $3}')"
$C task delete w-long >/dev/null 2>&1
$C container delete w-long

# The other ways to choose it: the image convention's annotation, and the spectrum-wasm link.
out=$(ctr_run --rm $R --annotation module.wasm.image/variant=compat $image w-variant /hello.wasm variant)
check "wasm: module.wasm.image/variant=compat" "hello from wasm argc=2 variant GREETING=from-the-image" "$out"
ln -sf "$spectrum" "$tmp/spectrum-wasm"
out=$(ctr_run --rm --snapshotter native --runc-binary "$tmp/spectrum-wasm" --runc-root "$tmp/runc" $image w-link /hello.wasm link)
check "wasm: the spectrum-wasm link" "hello from wasm argc=2 link GREETING=from-the-image" "$out"

# What cannot run is an error of create, naming the cause.
out=$(ctr_run --rm $R --annotation run.oci.handler=sandbox $image w-sandbox)
check "sandbox: a module is no program for it" yes "$(grep -q '/hello.wasm is not a 64-bit ELF executable' <<<"$out" && echo yes || echo "no: $out")"
out=$(ctr_run --rm $R --annotation run.oci.handler=bogus $image w-bogus)
check "unknown handler named" yes "$(grep -q "run.oci.handler: unknown handler 'bogus'" <<<"$out" && echo yes || echo "no: $out")"
out=$(ctr_run --rm $W $image w-missing /missing.wasm)
check "wasm: a missing module" yes "$(grep -q 'missing.wasm' <<<"$out" && echo yes || echo "no: $out")"

# Nothing left behind.
for c in $($C container ls -q); do $C container delete "$c" >/dev/null 2>&1; done
check "no tasks left" "" "$($C task ls -q)"
check "no mounts left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"
check "no runtime state left" "" "$(ls -A "$tmp/runc/$ns" 2>/dev/null)"
left=""
for controller in memory pids freezer devices cpu cpuacct; do
  [ -d /sys/fs/cgroup/$controller/$ns ] && left="$left$(find /sys/fs/cgroup/$controller/$ns -mindepth 1 -type d)"
done
[ -d /sys/fs/cgroup/$ns ] && left="$left$(find /sys/fs/cgroup/$ns -mindepth 1 -type d)"
check "no cgroups left" "" "$left"
check "no engine processes left" "" "$(pgrep -f 'hello.wasm' | while read -r p; do grep -l "$ns" /proc/$p/cgroup 2>/dev/null; done)"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
