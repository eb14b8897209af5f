#!/bin/sh
# Builds the libFuzzer targets with clang-16 (ASan + UBSan + coverage) into OUT_DIR.
#   tests/wasm/fuzz/build.sh OUT_DIR
# clang 16 implements what libstdc++ 12's <expected> needs but does not advertise it in
# __cpp_concepts yet; the define below lets <expected> through.
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../../src" && pwd)
mkdir -p "$out"
flags="-std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wno-macro-redefined -D__cpp_concepts=202002L -I$src"
engine="$src/wasm/decoder.cc $src/wasm/validator.cc $src/wasm/compiler.cc $src/wasm/interpreter.cc $src/wasm/runtime.cc
        $src/wasm/simd_interpreter.cc $src/wasm/native.cc $src/wasm/native_exec.cc $src/wasm/native_loader.cc
        $src/wasm/native_artifact.cc $src/wasm/native_scan.cc $src/wasm/native_library.cc $src/core/error.cc
        $src/core/fd.cc"
# Compile the engine once into objects shared by both targets.
objs=""
for f in $engine; do
  o="$out/$(basename "$f" .cc).o"
  # Any engine header or included table newer than the object rebuilds it.
  if [ ! -f "$o" ] || [ "$f" -nt "$o" ] ||
    [ -n "$(find "$src/wasm" -maxdepth 1 \( -name '*.h' -o -name '*.inc' \) -newer "$o")" ]; then
    clang++-16 $flags -fsanitize=fuzzer-no-link -c "$f" -o "$o"
  fi
  objs="$objs $o"
done
for target in fuzz_decode fuzz_run fuzz_limits fuzz_artifact; do
  clang++-16 $flags "$here/$target.cc" $objs -o "$out/$target"
done
