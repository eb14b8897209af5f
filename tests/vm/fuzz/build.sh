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
# The whole sandbox kernel and the core it stands on (the sources of the spectrum_vm and
# spectrum_core libraries, found rather than listed: a list here went stale when the kernel was
# split into folders), two at a time; the monitor's generated seccomp program is the build's.
generated=$(dirname "$kernel")
sources=$(cd "$src" && ls vm/*.cc vm/*/*.cc core/*.cc | grep -v '^vm/confine_gen\.cc$')
for f in $sources; do echo "$f"; done |
  xargs -P 2 -I{} sh -c '
    f={}; o="$0/$(echo "$f" | tr / _ | sed "s/\.cc\$/.o/")"
    # Rebuilt when the source or any header it included (its .d file) is newer than the object:
    # an object kept across a header change linked against the old declarations.
    stale=1
    if [ -f "$o" ] && [ -f "$o.d" ]; then
      stale=0
      for dep in $(sed -e "s/^[^:]*://" -e "s/\\\\\$//" "$o.d"); do
        [ "$dep" -nt "$o" ] && { stale=1; break; }
      done
    fi
    if [ "$stale" = 1 ]; then
      clang++-16 $2 -I$3 -fsanitize=fuzzer-no-link -MMD -MF "$o.d" -c "$1/$f" -o "$o" || exit 255
    fi' "$out" "$src" "$flags" "$generated"
objs=""
for f in $sources; do objs="$objs $out/$(echo "$f" | tr / _ | sed 's/\.cc$/.o/')"; done
clang-16 -c -DSPECTRUM_GUEST_KERNEL_BIN="\"$kernel\"" "$src/vm/guest/embed.S" -o "$out/embed.o"
# The guest's vDSO, as the same build linked it (beside the guest kernel).
clang-16 -c -DSPECTRUM_GUEST_VDSO_SO="\"$generated/guest_vdso.so\"" "$src/vm/vdso/embed.S" -o "$out/vdso_embed.o"
clang++-16 $flags "$here/fuzz_syscalls.cc" $objs "$out/embed.o" "$out/vdso_embed.o" -lseccomp -o "$out/fuzz_syscalls"
