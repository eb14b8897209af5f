#!/bin/sh
# The vm tier's command-line error paths: each a one-line error and exit 125 (127 for a missing file), decided before
# /dev/kvm is opened (so this runs on hosts without it).
# usage: cli_errors.sh SPECTRUM_BINARY TESTS_VM_SOURCE_DIR
set -u
spectrum=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin"
gcc -O1 -static -o "$root/bin/probe" "$src/programs/probe.c" || exit 1
gcc -O1 -o "$root/bin/dynamic" "$src/programs/probe.c" || exit 1
printf '\177ELF\002\001\001garbage' > "$root/bin/corrupt"
failures=0
expect_125() { expect_code 125 "$@"; }
expect_code() {  # $1 = exit code, $2 = expected text, then the run arguments
  code=$1
  want=$2
  shift 2
  err=$("$spectrum" run --tier vm "$@" 2>&1 >/dev/null)
  status=$?
  lines=$(printf '%s\n' "$err" | wc -l)
  if [ "$status" -ne "$code" ] || [ "$lines" -ne 1 ] || ! printf '%s' "$err" | grep -q -- "$want"; then
    echo "FAIL: $* => exit $status, $lines line(s): $err (wanted '$want')"
    failures=$((failures + 1))
  else
    echo "ok: $* => $err"
  fi
}
expect_125 "not found" --rootfs "$root" -- /bin/missing
expect_125 "not a valid x86-64 ELF" --rootfs "$root" -- /bin/corrupt
# A dynamic program whose dynamic linker is not in the root filesystem: execve's ENOENT, 127.
expect_code 127 "dynamic linker /lib64/ld-linux-x86-64.so.2 is not in the root filesystem" --rootfs "$root" -- /bin/dynamic
expect_125 "too small" --rootfs "$root" --memory 1M -- /bin/probe
expect_125 "rootfs" -- /bin/probe
expect_125 "root filesystem" --rootfs "$root/nonexistent" -- /bin/probe
exit $failures
