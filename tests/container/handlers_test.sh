#!/bin/bash
# Handler selection through the runc-compatible verbs, on one bundle whose root holds busybox and
# a WASI module: wasm-smart's two ways, the errors of handlers that cannot run (each at create,
# exit 1, naming the cause, nothing left), the `features` listing, and that `spectrum run` without
# runc's flags stays Spectrum's own run.
# Usage: handlers_test.sh SPECTRUM REPO_DIR SPECTRUM_OCI
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
spectrum_oci=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v clang-16 >/dev/null || { echo "SKIP: clang-16 is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-handlers.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/b/rootfs" >/dev/null || exit 1
clang-16 --target=wasm32-wasi -O2 -o "$tmp/b/rootfs/hello.wasm" "$repo/tests/container/wasm/hello.c" || exit 1
(cd "$tmp/b" && "$spectrum" spec --no-terminal) || exit 1
cp "$tmp/b/config.json" "$tmp/config.orig"
bundle() {  # bundle 'PYTHON on c': the original config, edited
  python3 - "$tmp/config.orig" "$tmp/b/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
}
nothing_left() { ls "$root" 2>/dev/null | grep -v seccomp; }

bundle "c['process']['args']=['/hello.wasm','smart']; c['annotations']={'run.oci.handler':'wasm-smart'}"
check "wasm-smart: a .wasm entrypoint runs in the engine" "hello from wasm argc=2 smart GREETING=(unset)" \
  "$("$spectrum" --root "$root" run --bundle "$tmp/b" s1 2>&1)"
bundle "c['process']['args']=['/bin/echo','native']; c['annotations']={'run.oci.handler':'wasm-smart'}"
check "wasm-smart: anything else runs as a container" "native" "$("$spectrum" --root "$root" run --bundle "$tmp/b" s2 2>&1)"
bundle "c['process']['args']=['/bin/echo','native']; c['annotations']={'module.wasm.image/variant':'compat-smart'}"
check "compat-smart: the same" "native" "$("$spectrum" --root "$root" run --bundle "$tmp/b" s3 2>&1)"

# Each refusal: at create, exit 1, one line naming the cause, no state left.
refused() {  # refused NAME EXPECTED-TEXT [BINARY]
  local out status
  out=$("${3:-$spectrum}" --root "$root" create --bundle "$tmp/b" r 2>&1)
  status=$?
  check "$1: refused at create" "1 yes" "$status $(grep -q -- "$2" <<<"$out" && echo yes || echo "no: $out")"
  check "$1: nothing left" "" "$(nothing_left)"
}
bundle "c['process']['args']=['/bin/busybox']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: not a module" "/bin/busybox is not a valid WebAssembly module"
bundle "c['process']['args']=['/hello.wasm']; c['process']['cwd']='/tmp'; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm: another cwd" "process.cwd: the wasm handler starts modules in /"
bundle "c['process']['args']=['/hello.wasm']; c['annotations']={'run.oci.handler':'wasm'}"
refused "wasm under spectrum-oci" "handler wasm: not in this binary" "$spectrum_oci"
bundle "c['process']['args']=['/bin/true']; c['annotations']={'run.oci.handler':'krun'}"
refused "krun (vm) under spectrum-oci" "handler vm: not in this binary" "$spectrum_oci"
bundle "c['process']['args']=['/bin/busybox']; c['annotations']={'run.oci.handler':'vm'}"
if [ -c /dev/kvm ]; then
  # busybox-static is static: a program the tier cannot run is one with an interpreter.
  printf '\177ELF\2\1\1\0\0\0\0\0\0\0\0\0' >"$tmp/b/rootfs/bin/short-elf"
  bundle "c['process']['args']=['/bin/short-elf']; c['annotations']={'run.oci.handler':'vm'}"
  refused "vm: a program the tier cannot run" "/bin/short-elf is not a 64-bit ELF executable"
else
  refused "vm: no /dev/kvm" "handler vm: this host has no /dev/kvm"
fi
bundle "c['process']['args']=['/bin/true']; c['annotations']={'module.wasm.image/variant':'bogus'}"
refused "unknown variant" "module.wasm.image/variant: unknown variant 'bogus'"
ln -s "$spectrum" "$tmp/spectrum-sandbox"
bundle "c['process']['args']=['/bin/true']"
refused "the spectrum-sandbox link" "handler sandbox: not available yet" "$tmp/spectrum-sandbox"

# create/start/state/kill/delete of a wasm container, as a shim does it.
bundle "c['process']['args']=['/hello.wasm','sleep','1000']; c['annotations']={'run.oci.handler':'wasm'}"
"$spectrum" --root "$root" create --bundle "$tmp/b" --pid-file "$tmp/pid" life >/dev/null 2>&1
check "wasm life: created" created "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
"$spectrum" --root "$root" start life
check "wasm life: running" running "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
check "wasm life: the process shows the module" "/hello.wasm sleep 1000" "$(tr '\0' ' ' </proc/$(cat "$tmp/pid")/cmdline | sed 's/ *$//')"
check "wasm life: events --stats" yes "$("$spectrum" --root "$root" events --stats life | grep -q '"memory"' && echo yes || echo no)"
"$spectrum" --root "$root" kill life TERM
for _ in $(seq 50); do [ "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ] && break; sleep 0.1; done
check "wasm life: SIGTERM stops it" stopped "$("$spectrum" --root "$root" state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
"$spectrum" --root "$root" delete life
check "wasm life: nothing left" "" "$(nothing_left)"

check "features: the handlers" "container wasm wasm-smart vm sandbox" \
  "$("$spectrum" features | python3 -c 'import json,sys; print(" ".join(h["name"] for h in json.load(sys.stdin)["spectrum"]["handlers"]))')"
check "features: spectrum-oci has no wasm" "False" \
  "$("$spectrum_oci" features | python3 -c 'import json,sys; print([h["available"] for h in json.load(sys.stdin)["spectrum"]["handlers"] if h["name"] == "wasm"][0])')"
# Finding (b) of issue 14: without runc's flags, `spectrum run` is Spectrum's run, whatever follows.
out=$("$spectrum" run --no-such-flag -- /bin/true 2>&1)
check "spectrum run is ours: exit 125" 125 "$?"
check "spectrum run is ours: names the flag" yes "$(grep -q -- '--no-such-flag' <<<"$out" && echo yes || echo "no: $out")"

[ $failures -eq 0 ] && echo "all handler checks passed"
exit $((failures > 0))
