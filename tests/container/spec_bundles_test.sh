#!/bin/bash
# The default configs of `runc spec` (1.1.5) and `crun spec` (1.8.1), kept unmodified in
# bundles/, start under spectrum as they do under runc and crun. Both ask for a terminal (so the
# test is the console socket's other end) and for ambient capabilities without inheritable ones;
# the kernel raises an ambient capability only once it is permitted and inheritable, which is
# what failed before ("raise capability CAP_KILL: Operation not permitted").
# Usage: spec_bundles_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-spec.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $("$spectrum" --root "$root" list -q 2>/dev/null | tail -n +2 | cut -f1); do "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1

mkdir -p "$tmp/bundle"
"$repo/scripts/busybox-rootfs" "$tmp/bundle/rootfs" || exit 1
for spec in runc-1.1.5 crun-1.8.1; do
  cp "$repo/tests/container/bundles/$spec-spec.json" "$tmp/bundle/config.json"
  rm -f "$tmp/tty.sock" "$tmp/out"
  # The config's process is an interactive `sh` on the terminal: type into it.
  python3 "$repo/tests/container/recvtty.py" "$tmp/tty.sock" \
    'grep -E "^Cap(Inh|Amb)" /proc/self/status | tr "\\t" " "; echo spec-ok-$((40+2)); exit 7\n' "$tmp/out" >"$tmp/recvtty.log" &
  recv=$!
  for _ in $(seq 300); do grep -q ready "$tmp/recvtty.log" 2>/dev/null && break; sleep 0.1; done
  (cd "$tmp/bundle" && timeout 30 "$spectrum" --root "$root" run --console-socket "$tmp/tty.sock" "spec-$spec" 2>"$tmp/err")
  status=$?
  wait $recv
  check "$spec spec: starts and exits with the shell's status" 7 "$status"
  [ -s "$tmp/err" ] && cat "$tmp/err"
  out=$(tr -d '\r' <"$tmp/out")
  check "$spec spec: the shell ran" "spec-ok-42" "$(grep -x 'spec-ok-42' <<<"$out")"
  # CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10): the ambient set the config asks for.
  check "$spec spec: ambient capabilities raised" "CapAmb: 0000000020000420" "$(grep -x 'CapAmb: .*' <<<"$out")"
  check "$spec spec: nothing left" "" "$(ls "$root" 2>/dev/null | grep -v seccomp)"
done
# A capability asked for as ambient but not permitted is left out, as runc does, not raised.
python3 - "$tmp/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "grep -E '^CapAmb' /proc/self/status | tr '\\t' ' '"]
c["process"]["capabilities"]["permitted"] = c["process"]["capabilities"]["effective"] = ["CAP_KILL"]
json.dump(c, open(sys.argv[1], "w"))
PY
out=$(cd "$tmp/bundle" && timeout 30 "$spectrum" --root "$root" run spec-unpermitted 2>&1)
check "ambient but not permitted: left out" "CapAmb: 0000000000000020" "$out"
[ $failures -eq 0 ] && echo "all spec bundle checks passed"
exit $((failures > 0))
