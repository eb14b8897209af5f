#!/bin/bash
# Attacks on the runtime itself (issue 17), each kept as the exploit that found the hole: a
# co-tenant racing mount destinations, a container rewriting the runtime binary, host sysctls,
# descriptors and flags of exec, propagation back into the caller, read-only mounts with writable
# submounts, silent failures and loose checks. Every check fails if its hole reopens.
# Usage: escape_test.sh SPECTRUM REPO_DIR PROBE
set -u
spectrum=$(readlink -f "$1")
repo=$2
probe=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-escape.XXXXXX)
state=$tmp/state
chmod 755 "$tmp"
failures=0
race_name=spectrum-race-$$
cleanup() {
  [ -n "${racer:-}" ] && kill "$racer" 2>/dev/null && wait "$racer" 2>/dev/null
  for root in "$state" "$tmp/copy-state"; do
    for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete --force "$id" 2>/dev/null; done
  done
  rm -rf "$tmp"
  rmdir /"$race_name"-* 2>/dev/null
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" || exit 1
cp "$probe" "$tmp/rootfs/bin/probe"
run() { "$spectrum" run --tier container --rootfs "$tmp/rootfs" "$@"; }
# A bundle on the shared rootfs; edit its config.json with edit 'PYTHON STATEMENTS on c'.
new_bundle() {
  mkdir -p "$1" && ln -sfn ../rootfs "$1/rootfs" && (cd "$1" && "$spectrum" spec --no-terminal)
}
edit() {
  python3 - "$1/config.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); exec(sys.argv[2]); json.dump(c, open(p, "w"))
PY
}

# ---- 1. CVE-2021-30465: a co-tenant swaps a directory of a shared volume with a symlink to "/"
# while our mounts go onto paths through it. Resolved as a path string, the mount (and the mkdir
# before it) lands on the host's /; resolved inside the root to an fd, it stays in the container.
vol=$tmp/vol
mkdir -p "$vol/d" "$tmp/src" && ln -s / "$vol/l" && echo payload > "$tmp/src/file"
run --timeout 120s --mount "$vol:/vol" -- /bin/probe exchange /vol/d /vol/l 40 > "$tmp/racer.out" 2>&1 &
racer=$!
mounts=()
for i in $(seq 1 20); do mounts+=(--mount "$tmp/src:/vol/d/$race_name-$i"); done
tries=0 started=0 deadline=$((SECONDS + 35))
while [ $tries -lt 3000 ] && [ $SECONDS -lt $deadline ]; do
  run --mount "$vol:/vol" "${mounts[@]}" -- /bin/true 2>/dev/null && started=$((started + 1))
  tries=$((tries + 20))
done
kill "$racer" 2>/dev/null; wait "$racer" 2>/dev/null; racer=
echo "     ($tries mount destinations raced, $started containers started)"
check "race: nothing made or mounted on the host's /" "0" "$(ls -d /"$race_name"-* 2>/dev/null | wc -l)"
check "race: the racer swapped" "yes" "$([ "$(grep -o '^[0-9]*' "$tmp/racer.out" 2>/dev/null || echo 0)" != 0 ] || ls "$vol" | grep -q . && echo yes)"
check "race: containers still start" "yes" "$([ $started -gt 0 ] && echo yes)"

# ---- 2. CVE-2019-5736: the container's /bin/evil is "#!/proc/self/exe"; `spectrum exec` of it
# runs the runtime binary inside, and a process there grabs /proc/PID/exe and writes to it once
# the runtime is gone. The binary attacked is a copy, so a failure here harms nothing else.
cp "$spectrum" "$tmp/spectrum-copy"
before=$(sha256sum < "$tmp/spectrum-copy")
printf '#!/proc/self/exe\n' > "$tmp/rootfs/bin/evil" && chmod 755 "$tmp/rootfs/bin/evil"
mkdir -p "$tmp/out" && new_bundle "$tmp/evil"
edit "$tmp/evil" "c['process']['args']=['/bin/sh','-c','/bin/probe overwrite-exe 11 > /out/result 2>&1']; c['root']['readonly']=False; c['mounts'].append({'destination':'/out','type':'bind','source':'$tmp/out','options':['rbind']})"
"$tmp/spectrum-copy" --root "$tmp/copy-state" run --detach --bundle "$tmp/evil" evil
# The runtime entered by each exec lives only briefly: keep entering for most of the attacker's
# window, so a loaded machine still gives it targets to find.
until_s=$(($(date +%s) + 9))
while [ "$(date +%s)" -lt "$until_s" ]; do "$tmp/spectrum-copy" --root "$tmp/copy-state" exec evil /bin/evil >/dev/null 2>&1; done
for i in $(seq 1 150); do [ -s "$tmp/out/result" ] && break; sleep 0.1; done
check "runtime binary: the attacker found it and was refused" "refused" "$(cut -d: -f1 "$tmp/out/result" 2>/dev/null)"
check "runtime binary unchanged" "$before" "$(sha256sum < "$tmp/spectrum-copy")"
"$tmp/spectrum-copy" --root "$tmp/copy-state" delete --force evil 2>/dev/null

# ---- 3. sysctl: a key no namespace holds would change the host.
new_bundle "$tmp/b"
core_uses_pid=$(cat /proc/sys/kernel/core_uses_pid)
edit "$tmp/b" "c['linux']['sysctl']={'kernel.core_uses_pid':'$((1 - core_uses_pid))'}"
check "host sysctl refused with runc's reason" \
  'spectrum: error: config.json: linux.sysctl.kernel.core_uses_pid: sysctl "kernel.core_uses_pid" is not in a separate kernel namespace' \
  "$("$spectrum" --root "$state" run --bundle "$tmp/b" s1 2>&1)"
check "host's kernel.core_uses_pid unchanged" "$core_uses_pid" "$(cat /proc/sys/kernel/core_uses_pid)"
edit "$tmp/b" "c['linux']['sysctl']={'kernel.core_pattern':'|/tmp/x'}"
check "core_pattern refused" "1" "$("$spectrum" --root "$state" run --bundle "$tmp/b" s2 >/dev/null 2>&1; echo $?)"
edit "$tmp/b" "c['linux']['sysctl']={'kernel.shmmni':'1234'}; c['process']['args']=['/bin/cat','/proc/sys/kernel/shmmni']"
check "namespaced sysctl still applies" "1234" "$("$spectrum" --root "$state" run --bundle "$tmp/b" s3 2>&1)"
edit "$tmp/b" "c['linux']['sysctl']={'net.ipv4.ip_forward':'1'}; c['linux']['namespaces']=[n for n in c['linux']['namespaces'] if n['type']!='network']+[{'type':'network','path':'/proc/$$/ns/net'}]"
check "net.* sysctl in the host's network namespace (joined by path) refused" \
  'spectrum: error: linux.sysctl.net.ipv4.ip_forward: sysctl "net.ipv4.ip_forward" is not allowed in the hosts network namespace' \
  "$("$spectrum" --root "$state" run --bundle "$tmp/b" s4 2>&1)"

# ---- 4 and 5. exec: the caller's descriptors stay out; -u, --no-new-privs, --preserve-fds honoured.
edit "$tmp/b" "c['linux'].pop('sysctl'); c['linux']['namespaces']=[n for n in c['linux']['namespaces'] if n['type']!='network']+[{'type':'network'}]; c['process']['args']=['/bin/sleep','60']; c['process']['noNewPrivileges']=False"
"$spectrum" --root "$state" run --detach --bundle "$tmp/b" ex
# Which of fds 3..9 the shell holds, by builtins only (no child, no listing fd of its own).
open_fds='for i in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$i ] && printf "$i "; done; echo'
check "exec: fd 7 of the caller (the host's /) does not leak" "" \
  "$("$spectrum" --root "$state" exec ex /bin/sh -c "$open_fds" 7</ | sed 's/ $//')"
check "exec: the host's / is not reachable through fd 7" "absent" \
  "$("$spectrum" --root "$state" exec ex /bin/sh -c '[ -e /proc/self/fd/7/tmp/'"$(basename "$tmp")"' ] && echo present || echo absent' 7</)"
check "exec --preserve-fds 2 passes 3 and 4 only" "3 4" \
  "$("$spectrum" --root "$state" exec --preserve-fds 2 ex /bin/sh -c "$open_fds" 3</dev/null 4</dev/null 7</ | sed 's/ $//')"
check "exec --preserve-fds of a closed fd refused" "1" "$("$spectrum" --root "$state" exec --preserve-fds 9 ex /bin/true 2>/dev/null; echo $?)"
check "exec -u UID" "1234 0" "$("$spectrum" --root "$state" exec -u 1234 ex /bin/sh -c 'echo $(id -u) $(id -g)')"
check "exec --user UID:GID" "1234 5678" "$("$spectrum" --root "$state" exec --user 1234:5678 ex /bin/sh -c 'echo $(id -u) $(id -g)')"
check "exec -u refuses a name" "1" "$("$spectrum" --root "$state" exec -u nobody ex /bin/true 2>/dev/null; echo $?)"
check "exec without --no-new-privs" "0" "$("$spectrum" --root "$state" exec ex /bin/sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')"
check "exec --no-new-privs" "1" "$("$spectrum" --root "$state" exec --no-new-privs ex /bin/sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')"
"$spectrum" --root "$state" delete --force ex

# ---- 6. rootfsPropagation "shared" on a host whose / is rshared (every systemd host): nothing
# may propagate back into the caller's namespace, on success or failure.
edit "$tmp/b" "c['process']['args']=['/bin/echo','shared ok']; c['linux']['rootfsPropagation']='shared'"
cp "$tmp/b/config.json" "$tmp/b/good.json"
edit "$tmp/b" "c['mounts'].append({'destination':'/late','type':'bind','source':'/no/such/source','options':['rbind']})"
cp "$tmp/b/config.json" "$tmp/b/bad.json"
propagation=$(unshare -m --propagation unchanged sh -c '
  mount --make-rshared /
  before=$(wc -l < /proc/self/mountinfo)
  cp "$1/good.json" "$1/config.json"
  out=$("$2" --root "$3" run --bundle "$1" p1 2>&1)
  mid=$(wc -l < /proc/self/mountinfo)
  cp "$1/bad.json" "$1/config.json"
  "$2" --root "$3" run --bundle "$1" p2 >/dev/null 2>&1; rc=$?
  after=$(wc -l < /proc/self/mountinfo)
  echo "$out|$((mid - before))|$rc|$((after - before))"' sh "$tmp/b" "$spectrum" "$state")
check "rshared host: shared rootfs runs, nothing left behind, failure cleans up" "shared ok|0|1|0" "$propagation"
cp "$tmp/b/good.json" "$tmp/b/config.json"
edit "$tmp/b" "c['linux'].pop('rootfsPropagation')"

# ---- 7. read-only mounts are read-only all the way down (rro).
mkdir -p "$tmp/ro/sub"
rro=$(unshare -m --propagation private sh -c '
  mount -t tmpfs none "$1/ro/sub"
  "$2" run --tier container --rootfs "$1/rootfs" --mount "$1/ro:/data:ro" -- /bin/sh -c \
    "(touch /data/top) 2>/dev/null && echo top-written || echo top-refused; (touch /data/sub/x) 2>/dev/null && echo sub-written || echo sub-refused" | tr "\n" " "' sh "$tmp" "$spectrum")
check "--mount :ro covers a mount below it" "top-refused sub-refused " "$rro"
edit "$tmp/b" "c['process']['args']=['/bin/sh','-c','(touch /data/sub/x) 2>/dev/null && echo written || echo refused']; c['mounts'].append({'destination':'/data','type':'bind','source':'$tmp/ro','options':['rbind','rro']})"
check "OCI rro covers a mount below it" "refused" \
  "$(unshare -m --propagation private sh -c 'mount -t tmpfs none "$1/ro/sub"; "$2" --root "$3" run --bundle "$4" r1' sh "$tmp" "$spectrum" "$state" "$tmp/b")"
cp "$tmp/b/good.json" "$tmp/b/config.json"

# ---- 8. silent failures: each one a clear error or an honest record.
check "memory limit too low: a clear error" "yes" \
  "$(run --memory 4096 -- /bin/true 2>&1 | grep -q 'it hit the memory limit of 4096 bytes' && echo yes)"
run --memory 4096 -- /bin/true 2>/dev/null
check "memory limit too low: status 125" "125" "$?"
edit "$tmp/b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64']}"
check "deny-all seccomp profile: a clear error" \
  "spectrum: error: config.json: linux.seccomp.defaultAction: the profile refuses execve, so the container's process could never start" \
  "$("$spectrum" --root "$state" run --bundle "$tmp/b" d1 2>&1)"
cp "$tmp/b/good.json" "$tmp/b/config.json"
check "fork bomb stopped by pids.limit: said on stderr" "yes" \
  "$(run --pids 16 --stdout null -- /bin/probe forkbomb 2>&1 | grep -q 'the pids limit (16) refused' && echo yes)"
check "fork bomb stopped by pids.limit: in the record" "yes" \
  "$(run --pids 16 --json --stdout null -- /bin/probe forkbomb | grep -q '"detail":"the pids limit (16) refused' && echo yes)"

# ---- 9. checks as strict as runc's.
mkdir -p "$tmp/b/data" "$tmp/elsewhere/data" && echo bundle > "$tmp/b/data/where" && echo cwd > "$tmp/elsewhere/data/where"
edit "$tmp/b" "c['process']['args']=['/bin/cat','/data/where']; c['mounts'].append({'destination':'/data','type':'bind','source':'data','options':['rbind']})"
check "relative bind source is in the bundle" "bundle" "$(cd "$tmp/elsewhere" && "$spectrum" --root "$state" run --bundle "$tmp/b" rel 2>&1)"
cp "$tmp/b/good.json" "$tmp/b/config.json"
refused() {  # refused NAME CHANGE MESSAGE
  cp "$tmp/b/good.json" "$tmp/b/config.json" && edit "$tmp/b" "$2"
  check "$1 refused" "spectrum: error: config.json: $3" "$("$spectrum" --root "$state" run --bundle "$tmp/b" refused 2>&1)"
}
refused "pids.limit -2" "c['linux']['resources']['pids']={'limit':-2}" \
  "linux.resources.pids.limit: must be positive, or 0 or -1 for no limit, found -2"
refused "cpu quota -7, period 0" "c['linux']['resources']['cpu']={'quota':-7,'period':0}" \
  "linux.resources.cpu.quota: must be positive, or -1 for no limit, found -7"
refused "hostname with a NUL" "c['hostname']='good\x00evil'" "hostname: contains a NUL byte"
cp "$tmp/b/good.json" "$tmp/b/config.json"
check "nothing left behind by the refusals" "" "$(ls "$state" | grep -v seccomp)"

echo "$failures failure(s)"
[ "$failures" = 0 ]
