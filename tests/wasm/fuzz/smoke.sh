#!/bin/sh
# The short fuzz run of `make test`: builds the libFuzzer targets (clang-16, ASan+UBSan) and runs
# them for about 2 x SECONDS seconds in all (fuzz_limits half as long as the other two) from seeds
# converted out of a few spec-suite files. Fails on any
# finding (crash, timeout, sanitizer report, leak).
#   tests/wasm/fuzz/smoke.sh WORK_DIR TESTSUITE_DIR [SECONDS]
set -eu
work=${1:?usage: smoke.sh WORK_DIR TESTSUITE_DIR [SECONDS]}
suite=${2:?usage: smoke.sh WORK_DIR TESTSUITE_DIR [SECONDS]}
seconds=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
"$here/build.sh" "$work/bin"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
for name in i32 loop br_table call_indirect memory_grow bulk elem global; do
  wast2json "$suite/core/$name.wast" -o "$seeds/$name.json" >/dev/null 2>&1 || true
done
for name in simd_lane simd_load simd_store simd_select simd_i8x16_arith simd_f32x4 simd_conversions; do
  wast2json "$suite/core/simd/$name.wast" -o "$seeds/$name.json" >/dev/null 2>&1 || true
done
rm -f "$seeds"/*.json "$seeds"/*.wat
# fuzz_artifact: ELF relocatable objects of the kind the compiler makes (x86-64, PIC), a 0 byte
# first (the object loader's layer).
artifact_seeds=$(mktemp -d)
trap 'rm -rf "$seeds" "$artifact_seeds"' EXIT
printf 'int helper(int);\nint f1(void) { return helper(1) + 2; }\ndouble k(double x) { return x * 3.5; }\n' >"$artifact_seeds/m.c"
if clang-16 -O2 -fPIC -c -o "$artifact_seeds/m.o" "$artifact_seeds/m.c" 2>/dev/null; then
  { printf '\000'; cat "$artifact_seeds/m.o"; } >"$artifact_seeds/seed-object"
fi
rm -f "$artifact_seeds/m.c" "$artifact_seeds/m.o"
seeds_of() { if [ "$1" = fuzz_artifact ]; then echo "$artifact_seeds"; else echo "$seeds"; fi; }
# The limits variant gets a share of the same total time: the smoke run stays as long as it was.
for entry in fuzz_decode:$((seconds * 3 / 4)) fuzz_run:$((seconds * 3 / 4)) fuzz_limits:$((seconds / 2)) \
  fuzz_artifact:$((seconds / 2)); do
  target=${entry%%:*}
  time=${entry#*:}
  corpus="$work/corpus-$target"
  mkdir -p "$corpus"
  echo "== $target: $time s"
  (cd "$work" && "$work/bin/$target" -max_total_time="$time" -timeout=10 -rss_limit_mb=3072 \
      -malloc_limit_mb=2048 -print_final_stats=1 "$corpus" "$(seeds_of "$target")" 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" ) || true
  if ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* >/dev/null 2>&1; then
    echo "finding of $target kept in $work" >&2
    exit 1
  fi
done
