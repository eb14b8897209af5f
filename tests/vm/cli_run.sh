#!/bin/sh
# A successful vm run's stdout and stderr are the workload's alone: the tier's per-run counters
# appear in --json ("counters") and, with --verbose, on stderr. The same for the sandbox tier (the
# monitor on ptrace). The vm tier needs /dev/kvm (exit 77 = skipped).
# usage: cli_run.sh SPECTRUM_BINARY TESTS_VM_SOURCE_DIR [vm|sandbox]
set -u
spectrum=$1
src=$2
tier=${3:-vm}
if [ "$tier" = vm ] && { ! "$spectrum" info 2>/dev/null | grep -q "vm.*usable" || [ ! -c "${SPECTRUM_KVM_DEVICE:-/dev/kvm}" ]; }; then
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
out=$("$spectrum" run --tier $tier --rootfs "$root" -- /bin/probe exit 0 2>"$root/err")
check "exit 0: nothing on stdout" "$([ -z "$out" ]; echo $?)"
check "exit 0: nothing on stderr (was: $(cat "$root/err"))" "$([ ! -s "$root/err" ]; echo $?)"
out=$("$spectrum" run --tier $tier --rootfs "$root" -- /bin/probe hello 2>"$root/err")
check "hello: stdout is the workload's" "$([ "$out" = "hello from the guest: argc=2 env HOME=/" ]; echo $?)"
check "hello: nothing on stderr" "$([ ! -s "$root/err" ]; echo $?)"
json=$("$spectrum" run --tier $tier --json --rootfs "$root" -- /bin/probe exit 0 2>"$root/err")
check "--json has the counters ($json)" "$(printf '%s' "$json" | grep -q '"counters":{.*"syscalls":[1-9]'; echo $?)"
check "--json: nothing on stderr" "$([ ! -s "$root/err" ]; echo $?)"
"$spectrum" run --tier $tier --verbose --rootfs "$root" -- /bin/probe exit 0 2>"$root/err" >/dev/null
check "--verbose prints the counters ($(cat "$root/err"))" "$(grep -q 'syscalls [1-9]' "$root/err"; echo $?)"

# The invoker's `>> log` and stdin: the guest may write, not change the file, its flags or offset.
printf 'invoker\n' > "$root/log"
printf 'input\n' > "$root/input"
{
  "$spectrum" run --tier $tier --rootfs "$root" -- /bin/probe stdio-attack
  "$root/bin/probe" flags 2>"$root/flags"  # natively, on the same descriptions
} < "$root/input" >> "$root/log"
check "the log keeps its content and gets the guest's line ($(tr '\n' '|' < "$root/log"))" \
  "$([ "$(cat "$root/log")" = "$(printf 'invoker\nguest')" ]; echo $?)"
check "the invoker's descriptions keep their flags ($(cat "$root/flags"))" \
  "$(grep -q 'nonblock=0 append=1' "$root/flags"; echo $?)"

# --mount HOST:GUEST:ro is read-only all the way down; a host /proc is never mounted (needs root
# for the submount; skipped otherwise).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  host=$root/hostdir
  mkdir -p "$host/shm" "$root/host"
  out=$(unshare -m sh -c "mount --make-rprivate / && mount -t tmpfs tmpfs '$host/shm' &&
    '$spectrum' run --tier $tier --rootfs '$root' --mount '$host:/host:ro' -- /bin/probe write /host/shm/x;
    echo status=\$?;
    '$spectrum' run --tier $tier --rootfs '$root' --mount '$host:/host:ro' -- /bin/probe write /host/top;
    echo status=\$?" 2>&1)
  check "a submount of a :ro mount is not writable ($out)" \
    "$(printf '%s' "$out" | grep -c 'status=3' | grep -q 2; echo $?)"
  err=$("$spectrum" run --tier $tier --rootfs "$root" --mount /proc:/host -- /bin/probe exit 0 2>&1)
  check "--mount /proc is refused, exit 125 ($err)" \
    "$("$spectrum" run --tier $tier --rootfs "$root" --mount /proc:/host -- /bin/probe exit 0 2>/dev/null; [ $? = 125 ]; echo $?)"
fi

# A terminal given as stdio (script(1) makes one) is /dev/pts/N to the guest, as natively: ttyname
# works, the name opens as that terminal, and no other pty of the host's is there.
if command -v script >/dev/null; then
  native=$(script -qec "'$root/bin/probe' tty" /dev/null </dev/null | tr -d '\r')
  out=$(script -qec "'$spectrum' run --tier $tier --rootfs '$root' -- /bin/probe tty" /dev/null </dev/null | tr -d '\r')
  check "ttyname of a terminal: '$out', natively '$native'" "$([ -n "$native" ] && [ "$out" = "$native" ]; echo $?)"
fi
exit $failures
