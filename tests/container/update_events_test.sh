#!/bin/bash
# runc's `update` (flags and -r FILE / -r -) and `events --stats` against a running container: the
# limits land in the container's cgroups, hierarchies it had not joined are joined, the stats
# record is runc's JSON, bad input is one line with runc's exit code 1, and delete leaves nothing.
# Usage: update_events_test.sh SPECTRUM REPO_DIR
set -u
spectrum=$(readlink -f "$1")
repo=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: needs python3 to read JSON"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-update.XXXXXX)
state=$tmp/state
id=update-$$
failures=0
cleanup() {
  "$spectrum" --root "$state" delete --force "$id" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/bundle/rootfs" >/dev/null || exit 1
"$spectrum" spec --no-terminal --bundle "$tmp/bundle" || exit 1
python3 - "$tmp/bundle/config.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
config["process"]["args"] = ["/bin/sleep", "60"]
json.dump(config, open(sys.argv[1], "w"))
EOF
"$spectrum" --root "$state" run --detach --bundle "$tmp/bundle" "$id" || { echo "FAIL: run --detach"; exit 1; }
pid=$("$spectrum" --root "$state" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')

# Where the container's groups are, v1 or v2, from the kernel's own view of its init.
group_dir() {  # group_dir CONTROLLER FILE
  local line path
  if [ -d /sys/fs/cgroup/$1 ]; then
    line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/$pid/cgroup)
    echo "/sys/fs/cgroup/$1${line#*:*:}"
  else
    line=$(grep '^0::' /proc/$pid/cgroup)
    echo "/sys/fs/cgroup${line#0::}"
  fi
}

"$spectrum" --root "$state" update --memory 64m --pids-limit 20 --cpu-quota 25000 --cpu-period 100000 "$id"
check "update exit status" "0" "$?"
if [ -d /sys/fs/cgroup/memory ]; then
  check "memory limit (v1)" "67108864" "$(cat "$(group_dir memory)/memory.limit_in_bytes")"
  check "pids limit (v1)" "20" "$(cat "$(group_dir pids)/pids.max")"
  # The container had no cpu limit, so it was not in the cpu hierarchy: update moves it there.
  check "cpu hierarchy joined" "$pid" "$(cat "$(group_dir cpu)/cgroup.procs")"
  check "cpu quota (v1)" "25000" "$(cat "$(group_dir cpu)/cpu.cfs_quota_us")"
else
  dir=$(group_dir memory)
  check "memory limit (v2)" "67108864" "$(cat "$dir/memory.max")"
  check "pids limit (v2)" "20" "$(cat "$dir/pids.max")"
  check "cpu quota (v2)" "25000 100000" "$(cat "$dir/cpu.max")"
fi

# -r - : a linux.resources object on stdin; a flag given too wins over the file.
echo '{"memory": {"limit": 134217728}, "pids": {"limit": 30}}' | "$spectrum" --root "$state" update -r - --pids-limit 40 "$id"
check "update -r - exit status" "0" "$?"
if [ -d /sys/fs/cgroup/memory ]; then
  check "memory limit from stdin" "134217728" "$(cat "$(group_dir memory)/memory.limit_in_bytes")"
  check "flag wins over the file" "40" "$(cat "$(group_dir pids)/pids.max")"
else
  check "memory limit from stdin" "134217728" "$(cat "$(group_dir memory)/memory.max")"
  check "flag wins over the file" "40" "$(cat "$(group_dir pids)/pids.max")"
fi
echo '{"cpu": {"quota": 50000, "period": 100000}}' > "$tmp/resources.json"
"$spectrum" --root "$state" update --resources "$tmp/resources.json" "$id"
check "update -r FILE exit status" "0" "$?"

# events --stats: one record with runc's field names, the numbers the cgroups hold.
stats=$("$spectrum" --root "$state" events --stats "$id")
check "events --stats exit status" "0" "$?"
check "stats record" "stats $id 1 40 134217728 yes" "$(echo "$stats" | python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
e = json.loads(lines[0])
d = e["data"]
print(e["type"], e["id"], d["pids"]["current"], d["pids"]["limit"], d["memory"]["usage"]["limit"],
      "yes" if d["cpu"]["usage"]["total"] > 0 and d["memory"]["usage"]["usage"] > 0 and len(lines) == 1 else "no")')"

# Bad input: one line naming the field, runc's exit status 1, the limits unchanged.
out=$(echo '{"memory": {"limit": "lots"}}' | "$spectrum" --root "$state" update -r - "$id" 2>&1)
check "bad resources JSON status" "1" "$?"
check "bad resources JSON names the field" "1 yes" "$(echo "$out" | wc -l) $(echo "$out" | grep -q 'memory.limit' && echo yes)"
out=$("$spectrum" --root "$state" update --memory lots "$id" 2>&1)
check "bad --memory status" "1" "$?"
check "bad --memory names the flag" "yes" "$(echo "$out" | grep -q -- '--memory' && echo yes)"
out=$("$spectrum" --root "$state" update --blkio-weight 300 "$id" 2>&1)
check "unsupported flag refused by name" "1 yes" "$? $(echo "$out" | grep -q -- 'blkio-weight' && echo yes)"
out=$("$spectrum" --root "$state" update --memory 64m no-such-container 2>&1)
check "unknown container" "1" "$?"
if [ -d /sys/fs/cgroup/memory ]; then
  check "bad input changed nothing" "134217728" "$(cat "$(group_dir memory)/memory.limit_in_bytes")"
fi

# delete removes every group, including the one update made.
dirs=""
for c in memory pids cpu; do dirs="$dirs $(group_dir $c)"; done
"$spectrum" --root "$state" delete --force "$id"
check "delete exit status" "0" "$?"
left=""
for d in $dirs; do [ -d "$d" ] && left="$left $d"; done
check "no cgroup left" "" "$left"
check "no state left" "" "$(ls "$state" | grep -v '^seccomp$')"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all update/events checks passed"
