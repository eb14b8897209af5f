#!/bin/sh
# Builds the vm syscall fuzz target with libFuzzer (clang-16, ASan + UBSan + coverage) into OUT_DIR.
#   tests/vm/fuzz/build.sh OUT_DIR GUEST_KERNEL_BIN
# GUEST_KERNEL_BIN is the guest kernel image of a normal build (build/src/vm/guest_kernel.bin).
# Run it (10 minutes, from the seeds):
#   OUT_DIR/fuzz_syscalls -max_total_time=600 -timeout=10 -rss_limit_mb=4096 CORPUS tests/vm/fuzz/seeds
# clang 16 implements what libstdc++ 12's <expected> needs but does not advertise it in
# __cpp_concepts yet; the define below lets <expected> through.
set -eu
out=${1:?usage: build.sh OUT_DIR GUEST_KERNEL_BIN}
kernel=$(realpath "${2:?usage: build.sh OUT_DIR GUEST_KERNEL_BIN}")
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../../src" && pwd)
mkdir -p "$out"
flags="-std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wno-macro-redefined -D__cpp_concepts=202002L -I$src"
objs=""
for f in vm/memory.cc vm/process.cc vm/process_memory.cc vm/process_state.cc vm/boot.cc core/error.cc core/fd.cc; do
  o="$out/$(echo "$f" | tr / _ | sed 's/\.cc$/.o/')"
  if [ ! -f "$o" ] || [ "$src/$f" -nt "$o" ]; then
    clang++-16 $flags -fsanitize=fuzzer-no-link -c "$src/$f" -o "$o"
  fi
  objs="$objs $o"
done
clang-16 -c -DSPECTRUM_GUEST_KERNEL_BIN="\"$kernel\"" "$src/vm/guest/embed.S" -o "$out/embed.o"
clang++-16 $flags "$here/fuzz_syscalls.cc" $objs "$out/embed.o" -lseccomp -o "$out/fuzz_syscalls"
