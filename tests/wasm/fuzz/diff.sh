#!/bin/sh
# The differential fuzz run: binaryen turns random bytes into valid modules (wasm-opt
# --translate-to-fuzz, SIMD included, NaNs removed with --denan: their payloads may differ between
# engines), and wasm_diff_engines runs each in the interpreter, under the compiler and tiered
# (interpreted, then compiled mid-run), and compares.
#   tests/wasm/fuzz/diff.sh DIFF_BINARY WORK_DIR [SECONDS]
# Fails on the first divergence; the module is kept in WORK_DIR.
set -eu
diff=${1:?usage: diff.sh DIFF_BINARY WORK_DIR [SECONDS]}
work=${2:?usage: diff.sh DIFF_BINARY WORK_DIR [SECONDS]}
seconds=${3:-60}
command -v wasm-opt >/dev/null || { echo "diff.sh: wasm-opt (binaryen) not installed: skipped"; exit 0; }
mkdir -p "$work"
features="--mvp-features --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory
  --enable-multivalue --enable-simd"
# binaryen 108 (Debian 12) writes pre-standard reference types (funcref as a subtype of externref,
# types outside Wasm 2.0) that our decoder rightly refuses: ~85% of such modules do not load. So
# reference types are on for one module in four, and the report counts the modules compared.
end=$(($(date +%s) + seconds))
n=0
compared=0
switched=0
while [ "$(date +%s)" -lt "$end" ]; do
  n=$((n + 1))
  extra=""
  [ $((n % 4)) -eq 0 ] && extra="--enable-reference-types"
  head -c 4096 /dev/urandom >"$work/seed.bin"
  # shellcheck disable=SC2086
  wasm-opt "$work/seed.bin" --translate-to-fuzz --denan $features $extra -o "$work/module.wasm" 2>/dev/null || continue
  if ! "$diff" "$work/module.wasm" >"$work/result.txt" 2>&1; then
    cp "$work/module.wasm" "$work/divergent-$n.wasm"
    cat "$work/result.txt"
    echo "divergence: $work/divergent-$n.wasm" >&2
    exit 1
  fi
  grep -q "^compared 1 modules" "$work/result.txt" && compared=$((compared + 1))
  grep -q "; 1 tiered runs switched" "$work/result.txt" && switched=$((switched + 1))
done
echo "diff.sh: $n modules generated, $compared loaded and compared ($switched of them switched engines" \
  "mid-run in the tiered run), no divergence"
