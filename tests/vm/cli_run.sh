#!/bin/sh
# A successful vm run's stdout and stderr are the workload's alone: the tier's per-run counters
# appear in --json ("counters") and, with --verbose, on stderr. Needs /dev/kvm (exit 77 = skipped).
# usage: cli_run.sh SPECTRUM_BINARY TESTS_VM_SOURCE_DIR
set -u
spectrum=$1
src=$2
if ! "$spectrum" info 2>/dev/null | grep -q "vm.*usable" || [ ! -c "${SPECTRUM_KVM_DEVICE:-/dev/kvm}" ]; then
  echo "skipped: /dev/kvm absent"
  exit 77
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
gcc -O1 -static -o "$root/bin/probe" "$src/programs/probe.c" || exit 1
failures=0
check() {  # $1 = what, $2 = condition result (0 = ok)
  if [ "$2" -eq 0 ]; then echo "ok: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}
out=$("$spectrum" run --tier vm --rootfs "$root" -- /bin/probe exit 0 2>"$root/err")
check "exit 0: nothing on stdout" "$([ -z "$out" ]; echo $?)"
check "exit 0: nothing on stderr (was: $(cat "$root/err"))" "$([ ! -s "$root/err" ]; echo $?)"
out=$("$spectrum" run --tier vm --rootfs "$root" -- /bin/probe hello 2>"$root/err")
check "hello: stdout is the workload's" "$([ "$out" = "hello from the guest: argc=2 env HOME=/" ]; echo $?)"
check "hello: nothing on stderr" "$([ ! -s "$root/err" ]; echo $?)"
json=$("$spectrum" run --tier vm --json --rootfs "$root" -- /bin/probe exit 0 2>"$root/err")
check "--json has the counters ($json)" "$(printf '%s' "$json" | grep -q '"counters":{.*"syscalls":[1-9]'; echo $?)"
check "--json: nothing on stderr" "$([ ! -s "$root/err" ]; echo $?)"
"$spectrum" run --tier vm --verbose --rootfs "$root" -- /bin/probe exit 0 2>"$root/err" >/dev/null
check "--verbose prints the counters ($(cat "$root/err"))" "$(grep -q 'syscalls [1-9]' "$root/err"; echo $?)"
exit $failures
