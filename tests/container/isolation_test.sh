#!/bin/bash
# Isolation promises of the container tier and of the OCI runtime, checked from inside containers.
# Usage: isolation_test.sh SPECTRUM REPO_DIR PROBE
set -u
spectrum=$(readlink -f "$1")
repo=$2
probe=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-isolation.XXXXXX)
state=$tmp/state
chmod 755 "$tmp"  # the user-namespace container's root (host uid 100000) must reach its rootfs
failures=0
cleanup() {
  for id in $(ls "$state" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$state" delete --force "$id" 2>/dev/null; done
  rm -rf "$tmp" "/tmp/spectrum-secret-$$"
}
trap cleanup EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" || exit 1
cp "$probe" "$tmp/rootfs/bin/probe"
run() { "$spectrum" run --tier container --rootfs "$tmp/rootfs" "$@"; }

# Host processes are invisible: the only processes are the container's own.
check "own pid namespace" "few" "$(run -- /bin/sh -c '[ $(ls -d /proc/[0-9]* | wc -l) -lt 8 ] && echo few')"
check "pid 1 is the workload" "sh" "$(run -- /bin/sh -c 'cat /proc/1/comm; true')"
check "host pid invisible" "absent" "$(run -- /bin/sh -c "[ -e /proc/$$ ] && echo present || echo absent")"
# Own hostname.
check "own hostname" "spectrum" "$(run -- /bin/hostname)"
# The root is the rootfs: no way out by .., /proc/1/root or a bind mount.
echo secret > "/tmp/spectrum-secret-$$"
check "no escape by .." "absent" "$(run -- /bin/sh -c "cd /../../../..; [ -e tmp/spectrum-secret-$$ ] && echo present || echo absent")"
check "no escape by /proc/1/root" "absent" "$(run -- /bin/sh -c "[ -e /proc/1/root/tmp/spectrum-secret-$$ ] && echo present || echo absent")"
check "bind mount refused" "refused: EPERM" "$(run -- /bin/probe mount)"
check "root listing is the rootfs" "$(ls "$tmp/rootfs" | sort | tr '\n' ' ')" "$(run -- /bin/sh -c 'ls / | sort | tr "\n" " "')"
# Masked paths read as empty, read-only paths refuse writes.
check "masked /proc/keys" "0" "$(run -- /bin/sh -c 'cat /proc/keys 2>/dev/null | wc -c')"
check "masked /proc/timer_list" "0" "$(run -- /bin/sh -c 'cat /proc/timer_list 2>/dev/null | wc -c')"
check "masked /sys/firmware" "" "$(run -- /bin/ls /sys/firmware 2>/dev/null)"
check "read-only /proc/sys" "refused" "$(run -- /bin/sh -c '(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo written || echo refused')"
check "read-only /proc/sysrq-trigger" "refused" "$(run -- /bin/sh -c '(echo h > /proc/sysrq-trigger) 2>/dev/null && echo written || echo refused')"
# The default seccomp profile.
check "seccomp refuses keyctl" "refused: EPERM" "$(run -- /bin/probe keyctl)"
check "seccomp refuses unshare(user)" "refused: EPERM" "$(run -- /bin/probe unshare-user)"
check "seccomp refuses unshare(mount)" "refused: EPERM" "$(run -- /bin/probe unshare-mount)"
# Capabilities: the default set, no_new_privs, and the same after another exec.
check "default capabilities after exec" "00000000a80425fb 1" \
  "$(run -- /bin/sh -c 'exec /bin/sh -c "grep CapEff /proc/self/status | cut -f2; grep NoNewPrivs /proc/self/status | cut -f2" | tr "\n" " " | sed "s/ $//"')"
# Memory limit: killed and reported as OOM.
json=$(run --memory 32M --json --stdout null -- /bin/probe alloc 256)
check "memory limit reported as OOM" "out_of_memory" "$(echo "$json" | grep -o '"outcome": *"[a-z_]*"' | grep -o '[a-z_]*"$' | tr -d '"')"
run --memory 32M --stdout null -- /bin/probe alloc 256 2>/dev/null
check "OOM exit status" "137" "$?"
# pids limit stops a fork bomb.
check "pids limit stops a fork bomb" "fork refused" "$(run --pids 32 -- /bin/probe forkbomb | grep -o 'fork refused')"

# Every limit of the workload model lands in the container's cgroups (v1 paths).
if [ -d /sys/fs/cgroup/memory ]; then
  check "limits in the cgroups" "50000 0 10 67108864" "$(run --cpus 0.5 --cpuset 0 --pids 10 --memory 64M -- /bin/sh -c \
    'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes' | tr '\n' ' ' | sed 's/ $//')"
fi
# The result record: captured output, exit code, peak memory.
json=$(run --json --stdout capture -- /bin/sh -c 'echo captured; exit 7')
check "captured stdout" '"stdout":"captured\n"' "$(echo "$json" | grep -o '"stdout":"[^"]*"')"
check "exit code in the record" '"exit_code":7' "$(echo "$json" | grep -o '"exit_code":[0-9]*')"
check "peak memory measured" "yes" "$(echo "$json" | grep -q '"peak_memory_bytes":[1-9]' && echo yes)"

# A timeout ends the whole container (its PID 1 first) and is reported as such.
run --timeout 1s -- /bin/sh -c 'sleep 100 & sleep 100'
check "timeout status" "124" "$?"
check "timeout outcome" "timed_out" "$(run --timeout 1s --json -- /bin/sleep 100 | grep -o '"outcome": *"[a-z_]*"' | grep -o '[a-z_]*"$' | tr -d '"')"
# A bind mount from the workload model, read-only.
mkdir -p "$tmp/shared" && echo from-host > "$tmp/shared/file"
check "workload mount, read-only" "from-host refused" \
  "$(run --mount "$tmp/shared:/data:ro" -- /bin/sh -c 'cat /data/file; (echo x > /data/file) 2>/dev/null && echo written || echo refused' | tr '\n' ' ' | sed 's/ $//')"

# Through the OCI runtime: a non-root user whose setuid-root binary stays powerless (no_new_privs).
bundle=$tmp/bundle
mkdir -p "$bundle"
ln -s ../rootfs "$bundle/rootfs"
cp "$probe" "$tmp/rootfs/bin/probe-setuid"
chmod 4755 "$tmp/rootfs/bin/probe-setuid"
(cd "$bundle" && "$spectrum" spec --no-terminal)
sed -i 's/"uid": 0/"uid": 1000/; s/"gid": 0/"gid": 1000/; s/"args": \[[^]]*\]/"args": ["\/bin\/probe-setuid", "ids"]/' "$bundle/config.json"
python3 - "$bundle/config.json" <<'PY' 2>/dev/null
import json,sys
p=sys.argv[1]; c=json.load(open(p)); c["process"]["args"]=["/bin/probe-setuid","ids"]; c["process"]["user"]={"uid":1000,"gid":1000}
json.dump(c,open(p,"w"))
PY
check "setuid stays powerless under no_new_privs" "uid=1000 euid=1000" "$("$spectrum" --root "$state" run --bundle "$bundle" nnp 2>&1)"

# Hooks: each kind runs, in order, with the state JSON on stdin.
python3 - "$bundle/config.json" "$tmp" <<'PY'
import json,sys
p,tmp=sys.argv[1],sys.argv[2]; c=json.load(open(p))
c["process"]["args"]=["/bin/true"]; c["process"]["user"]={"uid":0,"gid":0}
def hook(kind): return {"path":"/bin/sh","args":["sh","-c","read -r state; echo %s >> %s/hooks.log; echo \"$state\" > %s/hook-%s.json" % (kind,tmp,tmp,kind)]}
c["hooks"]={k:[hook(k)] for k in ["prestart","createRuntime","poststart","poststop"]}
json.dump(c,open(p,"w"))
PY
"$spectrum" --root "$state" run --bundle "$bundle" hooked
check "hooks ran in order" "prestart createRuntime poststart poststop" "$(tr '\n' ' ' < "$tmp/hooks.log" | sed 's/ $//')"
check "hook got the state JSON" "hooked" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/hook-poststop.json")"
check "poststop saw a stopped container" "stopped" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$tmp/hook-poststop.json")"
python3 - "$bundle/config.json" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p)); c.pop("hooks"); json.dump(c,open(p,"w"))
PY

# A session keyring of its own (the runtime's default spec has no seccomp profile: keyctl works).
python3 - "$bundle/config.json" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p)); c["process"]["args"]=["/bin/probe","session-keyring"]; c.pop("hooks", None); json.dump(c,open(p,"w"))
PY
check "own session keyring" "_ses" "$("$probe" join-session spectrum-host-$$ "$spectrum" --root "$state" run --bundle "$bundle" keyring)"
check "--no-new-keyring keeps the caller's" "spectrum-host-$$" \
  "$("$probe" join-session spectrum-host-$$ "$spectrum" --root "$state" run --no-new-keyring --bundle "$bundle" keyring2)"

# The runtime's life cycle outside containerd: created -> delete --force; exec --process; kill by
# name; sysctl, extra devices, oomScoreAdj and joining a network namespace by path.
python3 - "$bundle/config.json" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p))
c["process"]["args"]=["/bin/sleep","100"]
c["process"]["oomScoreAdj"]=123
c["linux"]["sysctl"]={"kernel.shmmax":"1234567"}
c["linux"]["devices"]=[{"type":"c","path":"/dev/kmsg-like","major":1,"minor":11,"fileMode":0o600}]
json.dump(c,open(p,"w"))
PY
"$spectrum" --root "$state" create --bundle "$bundle" cycle
check "created" "created" "$("$spectrum" --root "$state" state cycle | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
"$spectrum" --root "$state" delete --force cycle
check "delete --force of a created container" "" "$(ls "$state" | grep -v seccomp)"
"$spectrum" --root "$state" create --bundle "$bundle" cycle && "$spectrum" --root "$state" start cycle
pid=$("$spectrum" --root "$state" state cycle | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
check "oomScoreAdj" "123" "$(cat /proc/$pid/oom_score_adj)"
cat > "$tmp/process.json" <<'JSON'
{"args": ["/bin/sh", "-c", "cat /proc/sys/kernel/shmmax; ls -l /dev/kmsg-like | cut -c1-10"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
JSON
check "exec --process sees sysctl and device" "1234567 crw-------" "$("$spectrum" --root "$state" exec --process "$tmp/process.json" cycle | tr '\n' ' ' | sed 's/ $//')"
check "kill by name" "0" "$("$spectrum" --root "$state" kill cycle KILL; echo $?)"
"$spectrum" --root "$state" delete --force cycle
python3 - "$bundle/config.json" "$pid" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p))
c["process"].pop("oomScoreAdj"); c["linux"].pop("sysctl"); c["linux"].pop("devices")
c["process"]["args"]=["/bin/readlink","/proc/self/ns/net"]
json.dump(c,open(p,"w"))
PY
ip netns add "spectrum-test-$$" 2>/dev/null && {
  python3 - "$bundle/config.json" "/run/netns/spectrum-test-$$" <<'PY'
import json,sys
p,ns=sys.argv[1],sys.argv[2]; c=json.load(open(p))
for n in c["linux"]["namespaces"]:
    if n["type"]=="network": n["path"]=ns
json.dump(c,open(p,"w"))
PY
  check "joins a network namespace by path" "net:[$(stat -L -c %i "/run/netns/spectrum-test-$$")]" "$("$spectrum" --root "$state" run --bundle "$bundle" netjoin)"
  ip netns del "spectrum-test-$$"
}
python3 - "$bundle/config.json" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p))
for n in c["linux"]["namespaces"]: n.pop("path", None)
json.dump(c,open(p,"w"))
PY

# A user-namespace container maps its root to an unprivileged host uid.
python3 - "$bundle/config.json" <<'PY'
import json,sys
p=sys.argv[1]; c=json.load(open(p))
c["process"]["args"]=["/bin/sleep","100"]; c["process"]["user"]={"uid":0,"gid":0}
c["linux"]["namespaces"].append({"type":"user"})
c["linux"]["uidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]
c["linux"]["gidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]
c["linux"].pop("resources", None)
c["mounts"]=[m for m in c["mounts"] if m["type"] not in ("cgroup",)]
json.dump(c,open(p,"w"))
PY
if "$spectrum" --root "$state" create --bundle "$bundle" userns; then
  "$spectrum" --root "$state" start userns
  pid=$("$spectrum" --root "$state" state userns | grep '"pid"' | grep -o '[0-9]*')
  check "user namespace root is host uid 100000" "100000" "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)"
  check "root inside the user namespace" "0" "$(awk '{print $1}' /proc/$pid/uid_map | head -1)"
  "$spectrum" --root "$state" delete --force userns
else
  check "user namespace container starts" 0 1
fi
check "no state left" "" "$(ls "$state" | grep -v seccomp)"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
