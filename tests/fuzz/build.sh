#!/bin/sh
# Builds the libFuzzer targets of the untrusted input outside the wasm engine (OCI
# config.json/process.json/resources, the runtime's state files, the vm tier's ELF loader, the
# WASI host calls) with
# clang-16, ASan + UBSan + coverage, into OUT_DIR. Objects are kept and rebuilt only when older
# than their source. Usage: tests/fuzz/build.sh OUT_DIR
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../src" && pwd)
mkdir -p "$out/obj"
# clang 16 implements what libstdc++ 12's <expected> needs but does not advertise it in
# __cpp_concepts yet; the define lets <expected> through (as tests/wasm/fuzz/build.sh).
flags="-std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wno-macro-redefined -D__cpp_concepts=202002L -I$src"

# objects SOURCE...: compiles what is stale, prints the object paths.
objects() {
  for f in "$@"; do
    o="$out/obj/$(echo "$f" | tr / _ | sed 's/\.cc$/.o/')"
    if [ ! -f "$o" ] || [ "$src/$f" -nt "$o" ]; then
      clang++-16 $flags -fsanitize=fuzzer-no-link -c "$src/$f" -o "$o" >&2
    fi
    printf '%s ' "$o"
  done
}
# Every source of the parts under test goes into an archive, so the linker takes only the objects a
# target needs (a new file in those folders needs no change here).
# shellcheck disable=SC2046
ar_objects=$(objects $(cd "$src" && ls core/*.cc container/*.cc | grep -v '_main\.cc$'))
rm -f "$out/parsers.a"
# shellcheck disable=SC2086
ar rcs "$out/parsers.a" $ar_objects

# shellcheck disable=SC2046
clang++-16 $flags "$here/fuzz_elf.cc" $(objects vm/loader/elf.cc core/error.cc) -o "$out/fuzz_elf"
clang++-16 $flags "$here/fuzz_oci_config.cc" "$out/parsers.a" -lseccomp -o "$out/fuzz_oci_config"
clang++-16 $flags "$here/fuzz_oci_state.cc" "$out/parsers.a" -lseccomp -o "$out/fuzz_oci_state"
clang++-16 $flags "$here/fuzz_oci_process.cc" "$out/parsers.a" -lseccomp -o "$out/fuzz_oci_process"
# shellcheck disable=SC2046
clang++-16 $flags "$here/fuzz_wasi.cc" $(objects $(cd "$src" && ls wasm/wasi/*.cc)) "$out/parsers.a" \
  -o "$out/fuzz_wasi"
