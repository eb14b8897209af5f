#!/bin/sh
# Audits the guest kernel's machine code: fails if it contains an instruction kvm_pvm's ring-0
# emulator cannot run (int3, xrstor*, popcnt, clac, stac, cmpxchg16b), and prints the length of
# each ring-0 path (instructions executed per syscall / start).
# usage: guest_kernel_audit.sh GUEST_KERNEL_ELF
set -eu
elf=$1
[ -f "$elf" ] || { echo "guest_kernel_audit: no such file: $elf" >&2; exit 2; }
listing=$(objdump -d --no-show-raw-insn "$elf")
[ -n "$listing" ] || { echo "guest_kernel_audit: objdump produced nothing for $elf" >&2; exit 2; }
forbidden=$(printf '%s\n' "$listing" | grep -E -i '^\s+[0-9a-f]+:\s+(int3|xrstor[a-z0-9]*|popcnt|clac|stac|cmpxchg16b)\b' || true)
if [ -n "$forbidden" ]; then
  echo "guest_kernel_audit: forbidden ring-0 instructions in $elf:" >&2
  printf '%s\n' "$forbidden" >&2
  exit 1
fi
total=$(printf '%s\n' "$listing" | grep -c -E '^\s+[0-9a-f]+:' || true)
# The paths: from their entry addresses (abi.h) up to and including the return instruction.
path_length() {  # $1 = entry address (0x...)
  objdump -d --no-show-raw-insn --start-address="$1" "$elf" |
    awk '/^ +[0-9a-f]+:/ { n++; if ($2 ~ /^(iretq|sysretq|sysret)$/) { print n; exit } }'
}
echo "guest kernel: $total instructions in the image (mostly hlt padding), none forbidden"
echo "ring-0 path, syscall on hardware KVM (LSTAR): $(path_length 0x10210) instructions"
echo "ring-0 path, syscall on kvm_pvm (#PF at LSTAR): $(path_length 0x100e0) instructions"
echo "ring-0 path, start of the workload: $(path_length 0x10200) instructions"
