#!/bin/sh
# The differential fuzz run: binaryen turns random bytes into valid modules (wasm-opt
# --translate-to-fuzz, NaNs removed with --denan: their payloads may differ between engines), and
# wasm_diff_engines runs each in the interpreter and under the compiler and compares.
#   tests/wasm/fuzz/diff.sh DIFF_BINARY WORK_DIR [SECONDS]
# Fails on the first divergence; the module is kept in WORK_DIR.
set -eu
diff=${1:?usage: diff.sh DIFF_BINARY WORK_DIR [SECONDS]}
work=${2:?usage: diff.sh DIFF_BINARY WORK_DIR [SECONDS]}
seconds=${3:-60}
command -v wasm-opt >/dev/null || { echo "diff.sh: wasm-opt (binaryen) not installed: skipped"; exit 0; }
mkdir -p "$work"
features="--mvp-features --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory
  --enable-multivalue --enable-reference-types"
end=$(($(date +%s) + seconds))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
  n=$((n + 1))
  head -c 4096 /dev/urandom >"$work/seed.bin"
  # shellcheck disable=SC2086
  wasm-opt "$work/seed.bin" --translate-to-fuzz --denan $features -o "$work/module.wasm" 2>/dev/null || continue
  if ! "$diff" "$work/module.wasm" >"$work/result.txt" 2>&1; then
    cp "$work/module.wasm" "$work/divergent-$n.wasm"
    cat "$work/result.txt"
    echo "divergence: $work/divergent-$n.wasm" >&2
    exit 1
  fi
done
echo "diff.sh: $n modules, no divergence"
