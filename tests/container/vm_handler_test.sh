#!/bin/bash
# The vm handler through the runc-compatible verbs (issue 14): the container's process is the VM's
# monitor (state's pid holds the vCPU, and is the only process of the container); a signal sent to
# the container reaches the guest, whose disposition decides (SIGTERM ignored by the guest leaves
# it running, SIGUSR1 ends it with 128+10, the reason on stderr); kill's signal numbers out of
# range are refused without touching it; a program the tier cannot run fails at create with
# nothing left. Skips with the reason where /dev/kvm is absent or the vm tier cannot run here.
# Usage: vm_handler_test.sh SPECTRUM REPO_DIR VM_GUEST
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
guest=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -c /dev/kvm ] || { echo "SKIP: /dev/kvm is absent"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-vm-handler.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/b/rootfs" >/dev/null || exit 1
if ! why=$("$spectrum" run --tier vm --rootfs "$tmp/b/rootfs" -- /bin/busybox true 2>&1); then
  echo "SKIP: the vm tier cannot run on this host: $why"
  exit 77
fi
cp "$guest" "$tmp/b/rootfs/bin/guest"
(cd "$tmp/b" && "$spectrum" spec --no-terminal) || exit 1
cp "$tmp/b/config.json" "$tmp/config.orig"
bundle() {  # bundle 'PYTHON on c': the original config, edited
  python3 - "$tmp/config.orig" "$tmp/b/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
}
nothing_left() {  # state folders, cgroups (spectrum/ID, the default cgroupsPath), monitors
  ls "$root" 2>/dev/null | grep -v seccomp
  for id in v1 v2; do ls -d /sys/fs/cgroup/*/spectrum/$id /sys/fs/cgroup/spectrum/$id 2>/dev/null; done
  pgrep -f "^/bin/guest ignore-term"
}
status_of() { "$spectrum" --root "$root" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

bundle "c['process']['args']=['/bin/guest','ignore-term']; c['annotations']={'run.oci.handler':'vm'}"
"$spectrum" --root "$root" run --bundle "$tmp/b" v1 >"$tmp/out" 2>"$tmp/err" &
run=$!
for _ in $(seq 100); do grep -q ready "$tmp/out" && break; sleep 0.1; done
check "vm: the guest runs" ready "$(head -1 "$tmp/out")"
pid=$("$spectrum" --root "$root" state v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
check "vm: state's pid is the monitor (holds the vCPU)" yes "$(ls -l /proc/$pid/fd 2>/dev/null | grep -q 'anon_inode:kvm-vcpu' && echo yes || echo no)"
check "vm: the monitor is the container's only process" "$pid" "$("$spectrum" --root "$root" ps --format json v1 | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin))))')"
# Signal numbers kill(2) does not take are refused by name, the container untouched.
for bad in 65 0 -9 99999999999 9x; do
  out=$("$spectrum" --root "$root" kill v1 "$bad" 2>&1)
  check "vm: kill $bad refused" "1 yes" "$? $(grep -q "invalid signal '$bad'" <<<"$out" && echo yes || echo "no: $out")"
done
# SIGTERM reaches the guest (its sleep is cut short) and the guest ignores it.
"$spectrum" --root "$root" kill v1 TERM
for _ in $(seq 100); do grep -q interrupted "$tmp/out" && break; sleep 0.1; done
check "vm: SIGTERM reached the guest" interrupted "$(grep -m1 interrupted "$tmp/out")"
check "vm: the guest ignored SIGTERM" running "$(status_of v1)"
# SIGUSR1: the guest's default action ends it, with the status of a death by SIGUSR1.
"$spectrum" --root "$root" kill v1 USR1
wait $run
check "vm: SIGUSR1 ends the guest (128+10)" 138 "$?"
check "vm: the reason on stderr" yes "$(grep -q 'default action of SIGUSR1' "$tmp/err" && echo yes || echo "no: $(cat "$tmp/err")")"
check "vm: nothing left after the run" "" "$(nothing_left)"

# A program the tier cannot run: create fails, naming it, and leaves nothing.
cp /bin/true "$tmp/b/rootfs/bin/dynamic-true"
bundle "c['process']['args']=['/bin/dynamic-true']; c['annotations']={'run.oci.handler':'vm'}"
out=$("$spectrum" --root "$root" create --bundle "$tmp/b" v2 2>&1)
check "vm: a dynamic program refused at create" "1 yes" "$? $(grep -q 'dynamically linked' <<<"$out" && echo yes || echo "no: $out")"
check "vm: nothing left after the refusal" "" "$(nothing_left)"

[ $failures -eq 0 ] && echo "all vm handler checks passed"
exit $((failures > 0))
