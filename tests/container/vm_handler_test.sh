#!/bin/bash
# The vm and sandbox handlers through the runc-compatible verbs (issue 14): the container's process
# is the monitor (vm: state's pid holds the vCPU and is the only process of the container; sandbox:
# it traces the stub); a signal sent to the container reaches the guest, whose disposition decides
# (SIGTERM ignored by the guest leaves it running, SIGUSR1 ends it with 128+10, the reason on
# stderr); kill's signal numbers out of range are refused without touching it; a program the tier
# cannot run fails at create with nothing left. vm is skipped with the reason where /dev/kvm is
# absent or the vm tier cannot run; the whole test where the sandbox tier cannot run either.
# Usage: vm_handler_test.sh SPECTRUM REPO_DIR VM_GUEST
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
guest=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-vm-handler.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/b/rootfs" >/dev/null || exit 1
vm_skip=""
if [ ! -c /dev/kvm ]; then
  vm_skip="/dev/kvm is absent"
elif ! why=$("$spectrum" run --tier vm --rootfs "$tmp/b/rootfs" -- /bin/busybox true 2>&1); then
  vm_skip="the vm tier cannot run on this host: $why"
fi
if ! why=$("$spectrum" run --tier sandbox --rootfs "$tmp/b/rootfs" -- /bin/busybox true 2>&1); then
  echo "SKIP: the sandbox tier cannot run on this host: $why"
  exit 77
fi
cp "$guest" "$tmp/b/rootfs/bin/guest"
(cd "$tmp/b" && "$spectrum" spec --no-terminal) || exit 1
# The containers' cgroups under a parent of this run's own (the default, spectrum/ID, is shared
# with any other copy of this test running on the machine).
cgroup_parent=spectrum-vm-handler-$$
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"]="/"+sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))' "$tmp/b/config.json" "$cgroup_parent"
cp "$tmp/b/config.json" "$tmp/config.orig"
bundle() {  # bundle 'PYTHON on c': the original config, edited
  python3 - "$tmp/config.orig" "$tmp/b/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
}
nothing_left() {  # state folders, the cgroup (which a monitor left alive would keep)
  ls "$root" 2>/dev/null | grep -v seccomp
  ls -d /sys/fs/cgroup/*/$cgroup_parent /sys/fs/cgroup/$cgroup_parent 2>/dev/null
}
status_of() { "$spectrum" --root "$root" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

signals() {  # signals HANDLER ID: the monitor as the container's process, kill's range, signals to the guest
  local h=$1 id=$2 run pid bad out
  bundle "c['process']['args']=['/bin/guest','ignore-term']; c['annotations']={'run.oci.handler':'$h'}"
  "$spectrum" --root "$root" run --bundle "$tmp/b" $id >"$tmp/out" 2>"$tmp/err" &
  run=$!
  for _ in $(seq 100); do grep -q ready "$tmp/out" && break; sleep 0.1; done
  check "$h: the guest runs" ready "$(head -1 "$tmp/out")"
  pid=$("$spectrum" --root "$root" state $id | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
  if [ "$h" = vm ]; then
    check "vm: state's pid is the monitor (holds the vCPU)" yes "$(ls -l /proc/$pid/fd 2>/dev/null | grep -q 'anon_inode:kvm-vcpu' && echo yes || echo no)"
    check "vm: the monitor is the container's only process" "$pid" "$("$spectrum" --root "$root" ps --format json $id | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin))))')"
  else
    # The ptrace platform's monitor traces its one child, the stub that runs the guest's code.
    check "sandbox: state's pid is the monitor (tracing the stub)" "$pid" "$(awk '/^TracerPid:/ {print $2}' /proc/$(pgrep -P $pid | head -1)/status 2>/dev/null)"
  fi
  # Signal numbers kill(2) does not take are refused by name, the container untouched.
  for bad in 65 0 -9 99999999999 9x; do
    out=$("$spectrum" --root "$root" kill $id "$bad" 2>&1)
    check "$h: kill $bad refused" "1 yes" "$? $(grep -q "invalid signal '$bad'" <<<"$out" && echo yes || echo "no: $out")"
  done
  # SIGTERM reaches the guest, which ignores it: as on Linux, an ignored signal does not cut its
  # sleep short (the sandbox kernel discards it; the monitor before it returned EINTR).
  "$spectrum" --root "$root" kill $id TERM
  sleep 0.3
  check "$h: SIGTERM did not interrupt the ignoring guest" "" "$(grep -m1 interrupted "$tmp/out")"
  check "$h: the guest ignored SIGTERM" running "$(status_of $id)"
  # The container's verbs work on the monitor as on any container's process.
  "$spectrum" --root "$root" pause $id
  check "$h: pause" paused "$(status_of $id)"
  "$spectrum" --root "$root" resume $id
  check "$h: resume" running "$(status_of $id)"
  check "$h: events --stats" yes "$("$spectrum" --root "$root" events --stats $id | grep -q '"memory"' && echo yes || echo no)"
  # SIGUSR1: the guest's default action ends it, with the status of a death by SIGUSR1.
  "$spectrum" --root "$root" kill $id USR1
  wait $run
  check "$h: SIGUSR1 ends the guest (128+10)" 138 "$?"
  check "$h: the reason on stderr" yes "$(grep -q 'default action of SIGUSR1' "$tmp/err" && echo yes || echo "no: $(cat "$tmp/err")")"
  check "$h: nothing left after the run" "" "$(nothing_left)"
}

if [ -n "$vm_skip" ]; then echo "SKIP (vm): $vm_skip"; else signals vm v1; fi
signals sandbox v3
bundle "c['process']['args']=['/bin/busybox','sh','-c','echo hello from the sandbox; exit 4']; c['annotations']={'run.oci.handler':'sandbox'}"
out=$("$spectrum" --root "$root" run --bundle "$tmp/b" v4 2>&1)
check "sandbox: output and exit code" "4 hello from the sandbox" "$? $out"

# A dynamically linked program: while the root lacks its dynamic linker, create fails naming it
# and leaves nothing; with the linker and libc in the root, the sandbox kernel loads and runs it.
cp /bin/echo "$tmp/b/rootfs/bin/dynamic-echo"
for h in vm sandbox; do
  [ $h = vm ] && [ -n "$vm_skip" ] && continue
  bundle "c['process']['args']=['/bin/dynamic-echo','hello','dynamic']; c['annotations']={'run.oci.handler':'$h'}"
  out=$("$spectrum" --root "$root" create --bundle "$tmp/b" v2 2>&1)
  check "$h: a missing dynamic linker refused at create" "1 yes" "$? $(grep -q 'dynamic linker /lib64/ld-linux-x86-64.so.2 is not in the root filesystem' <<<"$out" && echo yes || echo "no: $out")"
  check "$h: nothing left after the refusal" "" "$(nothing_left)"
done
mkdir -p "$tmp/b/rootfs/lib64" "$tmp/b/rootfs/lib/x86_64-linux-gnu"
cp -L /lib64/ld-linux-x86-64.so.2 "$tmp/b/rootfs/lib64/"
cp -L /lib/x86_64-linux-gnu/libc.so.6 "$tmp/b/rootfs/lib/x86_64-linux-gnu/"
for h in vm sandbox; do
  [ $h = vm ] && [ -n "$vm_skip" ] && continue
  bundle "c['process']['args']=['/bin/dynamic-echo','hello','dynamic']; c['annotations']={'run.oci.handler':'$h'}"
  out=$("$spectrum" --root "$root" run --bundle "$tmp/b" v5 2>&1)
  check "$h: a dynamic program runs" "0 hello dynamic" "$? $out"
  check "$h: nothing left after it" "" "$(nothing_left)"
done

[ $failures -eq 0 ] && echo "all vm handler checks passed"
exit $((failures > 0))
