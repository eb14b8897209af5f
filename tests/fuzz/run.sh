#!/bin/bash
# Runs every fuzz target for SECONDS each (make fuzz: one hour by default; make test: a short smoke
# of the parsers here), each from a corpus seeded with real inputs, and reports executions,
# coverage and findings per target. Fails on any finding (crash, hang, sanitizer report, leak), which
# is kept in WORK_DIR. Usage: tests/fuzz/run.sh WORK_DIR SECONDS [TARGET...]
# FUZZ_JOBS=N runs N targets at once (their figures lines then come in the order they end).
#   targets: fuzz_elf fuzz_oci_config fuzz_oci_process fuzz_oci_state fuzz_wasi (built by
#   tests/fuzz/build.sh); with TESTSUITE=DIR (the wasm spec suite), the engine's fuzz_decode
#   (decoder and validator), fuzz_run (instantiate and run), fuzz_limits (run under a memory and
#   time budget) and fuzz_artifact (the compiled engine's artifact checks and object loader); with GUEST_KERNEL=FILE (a build's
#   src/vm/guest_kernel.bin), the sandbox kernel's fuzz_syscalls (tests/vm/fuzz).
set -eu
work=${1:?usage: run.sh WORK_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run.sh WORK_DIR SECONDS [TARGET...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
targets=${*:-"fuzz_elf fuzz_oci_config fuzz_oci_process fuzz_oci_state fuzz_wasi"}

"$here/build.sh" "$work/bin"
case " $targets " in
  *" fuzz_decode "* | *" fuzz_run "* | *" fuzz_limits "* | *" fuzz_artifact "*)
    "$top/tests/wasm/fuzz/build.sh" "$work/bin" ;;
esac
case " $targets " in
  *" fuzz_syscalls "*)
    [ -f "${GUEST_KERNEL:-}" ] || { echo "run.sh: fuzz_syscalls needs GUEST_KERNEL=FILE" >&2; exit 2; }
    "$top/tests/vm/fuzz/build.sh" "$work/bin" "$GUEST_KERNEL" ;;
esac

# Seeds: real inputs of each parser, regenerated each time (never committed).
seeds=$work/seeds
rm -rf "$seeds"
mkdir -p "$seeds/elf" "$seeds/oci" "$seeds/process" "$seeds/state" "$seeds/wasm" "$seeds/wasi" "$seeds/artifact"
printf 'void _start(void) { for (;;) { } }\n' >"$seeds/tiny.c"
gcc -static -nostdlib -O1 -o "$seeds/elf/tiny" "$seeds/tiny.c"
gcc -static-pie -nostdlib -O1 -fpie -o "$seeds/elf/tiny-pie" "$seeds/tiny.c"
gcc -nostdlib -O1 -o "$seeds/elf/tiny-dynamic" "$seeds/tiny.c" 2>/dev/null || true
rm -f "$seeds/tiny.c"
# fuzz_artifact: an x86-64 PIC relocatable object like the compiler's, behind the 0 byte that
# selects the object loader's layer.
printf 'int helper(int);\nint f1(void) { return helper(1) + 2; }\n' >"$seeds/m.c"
if clang-16 -O2 -fPIC -c -o "$seeds/m.o" "$seeds/m.c" 2>/dev/null; then
  { printf '\000'; cat "$seeds/m.o"; } >"$seeds/artifact/seed-object"
fi
rm -f "$seeds/m.c" "$seeds/m.o"
if command -v runc >/dev/null; then (cd "$seeds/oci" && runc spec && mv config.json runc-config.json); fi
if command -v crun >/dev/null; then (cd "$seeds/oci" && crun spec && mv config.json crun-config.json); fi
jq .process "$seeds/oci/runc-config.json" >"$seeds/oci/process.json" 2>/dev/null || true
cp "$seeds/oci/process.json" "$seeds/process/runc-process.json" 2>/dev/null || true
jq .process "$seeds/oci/crun-config.json" >"$seeds/process/crun-process.json" 2>/dev/null || true
for bundle in "$top"/tests/container/bundles/*/config.json; do
  [ -f "$bundle" ] && jq .process "$bundle" >"$seeds/process/$(basename "$(dirname "$bundle")").json" 2>/dev/null
done
# WASI: each host function once, its arguments pointers into the memory prefix (fuzz_wasi.cc's
# input format), after a prefix holding a path, an iovec and a subscription.
python3 - "$seeds/wasi" <<'PY'
import struct, sys
prefix = bytearray(256)
prefix[0:4] = b"file"
prefix[16:24] = struct.pack("<II", 64, 32)          # an iovec: 32 bytes at 64
prefix[128:176] = struct.pack("<QB7xIIQQH6x", 1, 0, 1, 0, 1000, 0, 0)[:48].ljust(48, b"\0")
for f in range(64):
    call = bytes([f])
    for arg in range(6):
        call += bytes([0 if arg == 0 else 1]) + struct.pack("<Q", [3, 0, 4, 16, 1, 200][arg])
    open(f"{sys.argv[1]}/call-{f:02d}", "wb").write(bytes(prefix) + call)
PY
printf '{"memory":{"limit":33554432},"cpu":{"quota":50000,"period":100000},"pids":{"limit":64}}\n' \
  >"$seeds/oci/resources.json"
printf '{"id":"fuzz","bundle":"/b","pid":1,"pid_start_time":5,"created":"2026-01-01T00:00:00Z","annotations":{"a":"b"},"cgroups":{"path":"spectrum/x","dirs":{"memory":"/sys/fs/cgroup/memory/spectrum/x"}},"poststop":[]}\n' \
  >"$seeds/state/state.json"
if [ -n "${TESTSUITE:-}" ]; then
  for name in i32 loop br_table call_indirect memory_grow bulk elem global; do
    wast2json "$TESTSUITE/core/$name.wast" -o "$seeds/wasm/$name.json" >/dev/null 2>&1 || true
  done
  rm -f "$seeds/wasm"/*.json
fi

# fuzz_target TARGET: one target's run; prints its figures line, fails on a finding.
fuzz_target() {
  local target=$1 seed corpus artifacts log runs cov found
  case $target in
    fuzz_elf) seed=$seeds/elf ;;
    fuzz_oci_config) seed=$seeds/oci ;;
    fuzz_oci_process) seed=$seeds/process ;;
    fuzz_oci_state) seed=$seeds/state ;;
    fuzz_wasi) seed=$seeds/wasi ;;
    fuzz_decode | fuzz_run | fuzz_limits) seed=$seeds/wasm ;;
    fuzz_artifact) seed=$seeds/artifact ;;
    fuzz_syscalls) seed=$top/tests/vm/fuzz/seeds ;;
    *) echo "run.sh: unknown target $target" >&2; return 2 ;;
  esac
  corpus=$work/corpus-$target
  artifacts=$work/findings-$target
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  log=$work/$target.log
  # Every input that once found something runs first, and must not find it again.
  if [ -d "$here/regressions/$target" ]; then
    if ! "$work/bin/$target" -timeout=10 "$here/regressions/$target"/* >"$log" 2>&1; then
      echo "$target: a kept regression input fails again (see $log)" >&2
      grep -E '^==[0-9]+==ERROR|^SUMMARY|what\(\)' "$log" | head -n 3 >&2
      return 1
    fi
  fi
  (cd "$work" && "$work/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 \
    -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seed" >"$log" 2>&1) || true
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  found=$(find "$artifacts" -type f | wc -l)
  echo "$target: ${runs:-?} executions, coverage ${cov:-?} edges, $found findings (${seconds}s)"
  if [ "$found" -gt 0 ]; then
    grep -E '^==[0-9]+==ERROR|^SUMMARY' "$log" | head -n 3 >&2
    return 1
  fi
}

# FUZZ_JOBS targets at a time (1 by default: each target has the machine to itself).
jobs=${FUZZ_JOBS:-1}
findings=0
running=0
for target in $targets; do
  if [ "$jobs" -le 1 ]; then
    fuzz_target "$target" || findings=$((findings + 1))
    continue
  fi
  fuzz_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || findings=$((findings + 1))
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || findings=$((findings + 1))
  running=$((running - 1))
done
[ "$findings" -eq 0 ]
