#!/bin/bash
# Bad input to the OCI runtime: one line naming the JSON field path and the problem, runc's exit
# code (1), and no leftover state, cgroup, mount or process. Usage: bad_input_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-badinput.XXXXXX)
state=$tmp/state
failures=0
trap 'rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" || exit 1
mkdir -p "$tmp/bundle"
ln -s ../rootfs "$tmp/bundle/rootfs"
(cd "$tmp/bundle" && "$spectrum" spec --no-terminal && sed -i 's/"sh"/"true"/' config.json && cp config.json config.good)

# expect NAME ID EXPECTED-MESSAGE: create must fail with exactly that one line and leave nothing.
expect() {
  local name=$1 id=$2 message=$3
  local err
  err=$("$spectrum" --root "$state" --log "$tmp/log.json" --log-format json create --bundle "$tmp/bundle" "$id" 2>&1 >/dev/null)
  local status=$?
  check "$name: exit code" 1 "$status"
  check "$name: message" "spectrum: error: $message" "$err"
  check "$name: one line" 1 "$(printf '%s\n' "$err" | wc -l)"
  check "$name: logged as JSON for the shim" "$message" "$(tail -1 "$tmp/log.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["msg"])')"
  check "$name: no state left" "" "$(ls "$state" 2>/dev/null | grep -v seccomp)"
  local left=""
  for c in memory pids freezer devices cpu cpuacct cpuset; do
    [ -d "/sys/fs/cgroup/$c/spectrum/$id" ] && left="$left $c"
  done
  check "$name: no cgroup left" "" "$left"
  check "$name: no process left" "" "$(grep -l "spectrum/$id\$" /proc/[0-9]*/cgroup 2>/dev/null)"
  # Other tests mount things concurrently: look only for mounts of this test's files.
  check "$name: no mount left" "0" "$(grep -c " $tmp" /proc/self/mountinfo)"
  cp "$tmp/bundle/config.good" "$tmp/bundle/config.json"
}
edit() {  # edit PYTHON-STATEMENT (on c, the config)
  python3 - "$tmp/bundle/config.json" "$1" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p)); exec(sys.argv[2]); json.dump(c,open(p,"w"))
PY
}

printf '{"ociVersion": "1.1.0", "process": {' > "$tmp/bundle/config.json"
expect "malformed JSON" bad1 "config.json: malformed JSON at byte 37: syntax error while parsing object key - unexpected end of input; expected string literal"

edit 'c["root"]["path"]="missing-rootfs"'
expect "missing rootfs" bad2 "config.json: root.path: $tmp/bundle/missing-rootfs is not a directory"

edit 'c["linux"]["namespaces"].append({"type":"foo"})'
expect "unknown namespace" bad3 "config.json: linux.namespaces[5].type: unknown namespace type 'foo'"

edit 'c["mounts"][0]["options"].append("bogus")'
expect "bad mount option" bad4 "config.json: mounts[0].options[3]: unknown mount option 'bogus'"

edit 'c["linux"]["intelRdt"]={"closID":"x"}'
expect "unsupported field" bad5 "config.json: linux.intelRdt: not supported by spectrum"

edit 'c["process"]["rlimits"]=[{"type":"RLIMIT_NOFILE","soft":1024,"hard":1<<40}]'
hard=$(ulimit -Hn)
expect "rlimit above the hard limit" bad6 "process.rlimits: RLIMIT_NOFILE: cannot raise the hard limit to 1099511627776 above the current $hard (no CAP_SYS_RESOURCE)"

edit 'c["process"]["args"]=["no-such-program"]'
expect "missing program" bad7 "process.args[0]: exec: \"no-such-program\": executable file not found in \$PATH"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
