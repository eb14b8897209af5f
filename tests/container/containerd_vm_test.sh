#!/bin/bash
# The vm handler through a real client: a private containerd (as containerd_test.sh) runs the
# busybox image with `ctr run --runc-binary spectrum --annotation run.oci.handler=vm`: the image's
# root filesystem is the guest's, the process the guest program. Checks output and exit code,
# the monitor inside the container's cgroup (task ps), the memory limit sizing the VM (dd's 40 MiB
# buffer refused in a 24 MiB VM, taken in 128 MiB), `ctr task kill` ending the VM, the spectrum-vm
# link, a program the tier cannot run refused at create, `ctr task exec` running in the guest,
# and that nothing is left behind.
# Skips with the reason where /dev/kvm is absent or the vm tier cannot run here.
# Usage: containerd_vm_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
[ -c /dev/kvm ] || { echo "SKIP: /dev/kvm is absent"; exit 77; }
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/containerd_env.sh" || exit 1
containerd_env ctr-vm containerd ctr umoci skopeo
V="$R --annotation run.oci.handler=vm"

# The tier itself must run here first (the reason, if not, is the skip's).
"$repo/scripts/busybox-rootfs" "$tmp/probe-root" >/dev/null || exit 1
if ! why=$("$spectrum" run --tier vm --rootfs "$tmp/probe-root" -- /bin/busybox true 2>&1); then
  echo "SKIP: the vm tier cannot run on this host: $why"
  exit 77
fi
rm -rf "$tmp/probe-root"

busybox_image "$tmp/img.tar" "printf '\\177ELF\\2\\1\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0' > rootfs/bin/not-static"
containerd_start
$C images import "$tmp/img.tar" >/dev/null || { echo "FAIL: image import"; exit 1; }
image=localhost/spectrum-busybox:latest

out=$($C run --rm $V $image v-echo /bin/busybox echo hello from the guest 2>&1)
check "vm: output" "hello from the guest" "$out"
$C run --rm $V $image v-exit /bin/busybox sh -c 'exit 3' >/dev/null 2>&1
check "vm: exit code" 3 "$?"
out=$($C run --rm $V $image v-cat /bin/busybox cat /etc/hostname 2>&1)
check "vm: the image's root is the guest's" "spectrum" "$out"
# The memory limit is the guest's memory: dd's 40 MiB buffer does not fit a 24 MiB VM, fits 128.
$C run --rm $V --memory-limit 25165824 $image v-small /bin/busybox dd if=/bin/busybox of=/tmp/copy bs=40M count=1 >"$tmp/small.out" 2>&1; small_status=$?
check "vm: a 24 MiB VM refuses a 40 MiB buffer" "yes" "$([ $small_status -ne 0 ] && grep -qi "memory" "$tmp/small.out" && echo yes || echo "no: $small_status $(cat "$tmp/small.out")")"
$C run --rm $V --memory-limit 134217728 $image v-big /bin/busybox dd if=/bin/busybox of=/tmp/copy bs=40M count=1 >"$tmp/big.out" 2>&1
check "vm: a 128 MiB VM takes it" 0 "$?"
ln -sf "$spectrum" "$tmp/spectrum-vm"
out=$($C run --rm --snapshotter native --runc-binary "$tmp/spectrum-vm" --runc-root "$tmp/runc" $image v-link /bin/busybox echo link 2>&1)
check "vm: the spectrum-vm link" "link" "$out"
out=$($C run --rm $V $image v-dyn /bin/not-static 2>&1)
check "vm: what the tier cannot run fails at create" yes "$(grep -q 'not-static' <<<"$out" && echo yes || echo "no: $out")"

# A long guest: the container's process is the monitor (it holds the VM), in the container's
# cgroup; `ctr task kill` (SIGTERM) reaches the guest, whose default action ends it.
$C run -d $V $image v-long /bin/busybox sleep 1000 >/dev/null
check "vm: run -d" RUNNING "$($C task ls | awk '$1 == "v-long" {print $3}')"
pid=$($C task ls | awk '$1 == "v-long" {print $2}')
for _ in $(seq 300); do ls -l /proc/$pid/fd 2>/dev/null | grep -q 'kvm-vcpu' && break; sleep 0.1; done
check "vm: the task's pid is the monitor (holds the vCPU)" yes "$(ls -l /proc/$pid/fd 2>/dev/null | grep -q 'anon_inode:kvm-vcpu' && echo yes || echo no)"
check "vm: task ps lists the monitor alone" "$pid" "$($C task ps v-long | tail -n +2 | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
# ctr task exec: the shim runs `spectrum exec --detach --pid-file` and waits for the proxy; the
# process runs in the guest (the sandbox kernel's uname, the guest's pid 1), with its exit code.
out=$($C task exec --exec-id x1 v-long /bin/busybox sh -c 'uname -r; tr "\0" " " < /proc/1/cmdline' 2>&1)
check "vm: ctr task exec runs in the guest" "yes" "$(grep -q -- '-spectrum$' <<<"$(head -1 <<<"$out")" && [ "$(tail -1 <<<"$out")" = "/bin/busybox sleep 1000 " ] && echo yes || echo "no: $out")"
$C task exec --exec-id x2 v-long /bin/busybox sh -c 'exit 5' >/dev/null 2>&1
check "vm: ctr task exec's exit code" 5 "$?"
$C task kill v-long
for _ in $(seq 300); do [ "$($C task ls | awk '$1 == "v-long" {print $3}')" = STOPPED ] && break; sleep 0.1; done
check "vm: ctr task kill ends the VM" STOPPED "$($C task ls | awk '$1 == "v-long" {print $3}')"
$C task delete v-long >/dev/null 2>&1
$C container delete v-long

for c in $($C container ls -q); do $C container delete "$c" >/dev/null 2>&1; done
check "no tasks left" "" "$($C task ls -q)"
check "no mounts left" "0" "$(grep -c " $tmp/" /proc/self/mountinfo)"
check "no runtime state left" "" "$(ls -A "$tmp/runc/$ns" 2>/dev/null)"
left=""
for controller in memory pids freezer devices cpu cpuacct; do
  [ -d /sys/fs/cgroup/$controller/$ns ] && left="$left$(find /sys/fs/cgroup/$controller/$ns -mindepth 1 -type d)"
done
check "no cgroups left" "" "$left"
check "no VM left" "" "$(pgrep -f 'busybox sleep 1000')"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
