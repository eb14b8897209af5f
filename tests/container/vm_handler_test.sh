#!/bin/bash
# The vm and sandbox handlers through the runc-compatible verbs (issue 14): the container's process
# is the monitor (vm: state's pid holds the vCPU and is the only process of the container; sandbox:
# it traces the stub); a signal sent to the container reaches the guest, whose disposition decides
# (SIGTERM ignored by the guest leaves it running, SIGUSR1 ends it with 128+10, the reason on
# stderr); kill's signal numbers out of range are refused without touching it; exec runs in the
# sandbox kernel (never on the host beside it), with its status, stdio, signals and --detach's
# proxy; a program the tier cannot run fails at create with nothing left. vm is skipped with the reason where /dev/kvm is
# absent or the vm tier cannot run; the whole test where the sandbox tier cannot run either.
# Usage: vm_handler_test.sh SPECTRUM REPO_DIR VM_GUEST
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
guest=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/spectrum-vm-handler.XXXXXX)
root=$tmp/state
failures=0
trap 'for id in $(ls "$root" 2>/dev/null); do [ "$id" != seccomp ] && "$spectrum" --root "$root" delete -f "$id"; done; rm -rf "$tmp"' EXIT
. "$repo/tests/container/check.sh" || exit 1
"$repo/scripts/busybox-rootfs" "$tmp/b/rootfs" >/dev/null || exit 1
vm_skip=""
if [ ! -c /dev/kvm ]; then
  vm_skip="/dev/kvm is absent"
elif ! why=$("$spectrum" run --tier vm --rootfs "$tmp/b/rootfs" -- /bin/busybox true 2>&1); then
  vm_skip="the vm tier cannot run on this host: $why"
fi
if ! why=$("$spectrum" run --tier sandbox --rootfs "$tmp/b/rootfs" -- /bin/busybox true 2>&1); then
  echo "SKIP: the sandbox tier cannot run on this host: $why"
  exit 77
fi
cp "$guest" "$tmp/b/rootfs/bin/guest"
(cd "$tmp/b" && "$spectrum" spec --no-terminal) || exit 1
# The containers' cgroups under a parent of this run's own (the default, spectrum/ID, is shared
# with any other copy of this test running on the machine).
cgroup_parent=spectrum-vm-handler-$$
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["linux"]["cgroupsPath"]="/"+sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))' "$tmp/b/config.json" "$cgroup_parent"
cp "$tmp/b/config.json" "$tmp/config.orig"
bundle() {  # bundle 'PYTHON on c': the original config, edited
  python3 - "$tmp/config.orig" "$tmp/b/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
}
nothing_left() {  # state folders, the cgroup (which a monitor left alive would keep)
  ls "$root" 2>/dev/null | grep -v seccomp
  ls -d /sys/fs/cgroup/*/$cgroup_parent /sys/fs/cgroup/$cgroup_parent 2>/dev/null
}
status_of() { "$spectrum" --root "$root" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

guest_exec() {  # guest_exec HANDLER ID: exec into the running container runs in its sandbox kernel
  local h=$1 id=$2 out p
  # Never on the host beside the guest (a host exec into the monitor's namespaces reported the
  # host's kernel and saw no /proc): the sandbox kernel's uname, the guest's pid 1.
  out=$("$spectrum" --root "$root" exec $id /bin/busybox sh -c 'uname -r; tr "\0" " " < /proc/1/cmdline' 2>&1)
  check "$h: exec runs in the sandbox kernel" "yes" "$(grep -q -- '-spectrum$' <<<"$(head -1 <<<"$out")" && echo yes || echo "no: $out")"
  check "$h: exec sees the guest's pid 1" "/bin/guest ignore-term " "$(tail -1 <<<"$out")"
  check "$h: exec's stdin" "piped in" "$(echo piped in | "$spectrum" --root "$root" exec $id /bin/busybox cat 2>&1)"
  "$spectrum" --root "$root" exec --cwd /etc --env X=6 $id /bin/busybox sh -c 'test "$(pwd)" = /etc && exit $X'
  check "$h: exec's exit status, cwd and env" 6 "$?"
  out=$("$spectrum" --root "$root" exec $id no-such-program 2>&1)
  check "$h: exec of a missing program" "1 yes" "$? $(grep -q 'no-such-program.*not found' <<<"$out" && echo yes || echo "no: $out")"
  # exec -t: a pty whose master goes to the console socket; the guest process has it as its stdio
  # (a terminal to it), typed input reaches it, its exit code comes back.
  rm -f "$tmp/tty.sock" "$tmp/tty.out"
  python3 "$repo/tests/container/recvtty.py" "$tmp/tty.sock" 'echo typed-$((6*7))\nexit 5\n' "$tmp/tty.out" >"$tmp/recvtty.log" &
  p=$!
  for _ in $(seq 300); do grep -q ready "$tmp/recvtty.log" 2>/dev/null && break; sleep 0.1; done
  "$spectrum" --root "$root" exec -t --console-socket "$tmp/tty.sock" $id /bin/busybox sh -c 'test -t 0 && test -t 1 && echo is-a-tty; exec /bin/busybox sh'
  check "$h: exec -t's exit code" 5 "$?"
  wait $p
  check "$h: exec -t: a terminal, typed input" "is-a-tty typed-42" "$(tr -d '\r' <"$tmp/tty.out" | grep -oE 'is-a-tty|^typed-42' | paste -sd' ')"
  # A signal sent to a waiting exec reaches its process (busybox sleep: SIGTERM's default action).
  "$spectrum" --root "$root" exec $id /bin/busybox sleep 10 &
  p=$!
  sleep 0.5
  kill -TERM $p
  wait $p
  check "$h: SIGTERM to exec reaches its process" 143 "$?"
  # --detach: the pid file names a proxy that ends as the process does (what containerd waits
  # for), with its exit code or its signal; killing the proxy takes the process with it.
  out=$(python3 - "$spectrum" "$root" $id "$tmp/exec.pid" <<'PY'
import ctypes, os, subprocess, sys
spectrum, root, id, pid_file = sys.argv[1:]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the proxy is reparented here
for command in ("exit 7", "kill -USR2 $$"):
    subprocess.run([spectrum, "--root", root, "exec", "--detach", "--pid-file", pid_file, id,
                    "/bin/busybox", "sh", "-c", command], check=True)
    _, status = os.waitpid(int(open(pid_file).read()), 0)
    os.unlink(pid_file)
    print(os.waitstatus_to_exitcode(status), end=" ")
PY
)
  check "$h: exec --detach's proxy ends as its process" "7 -12 " "$out"
  # Hostile requests on the exec socket (root's alone: 0600): each refused with an answer or the
  # connection closed; the monitor serves the next one as before.
  check "$h: the exec socket is its owner's only" "600" "$(stat -c %a "$root/$id/guest-exec.sock")"
  out=$(python3 - "$root/$id/guest-exec.sock" <<'PY'
import array, json, os, socket, sys
path = sys.argv[1]
null = os.open("/dev/null", os.O_RDWR)
def ask(payload, fds=(null, null, null)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.setsockopt(socket.SOL_SOCKET, 32, 1 << 20)  # SO_SNDBUFFORCE: a message past the 256 KiB limit
    s.connect(path)
    s.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])
    s.settimeout(10)
    answer = s.recv(1 << 16)
    s.close()
    return json.loads(answer) if answer else {}
cases = [b"not json", b"[1,2]", json.dumps({"args": 5}).encode(), json.dumps({"args": ["/bin/busybox"], "cwd": 7}).encode(),
         json.dumps({"args": ["/bin/busybox"], "env": [1]}).encode(), json.dumps({"args": []}).encode(),
         json.dumps({"args": ["/bin/busybox", "true"], "cwd": "relative"}).encode(),
         json.dumps({"args": ["/bin/busybox", "true"], "cwd": "/no/such/dir"}).encode(),
         json.dumps({"args": ["/bin/busybox", "true"], "env": ["A" * 300000]}).encode()]
refused = sum(1 for c in cases if "error" in ask(c))
refused += "error" in ask(json.dumps({"args": ["/bin/busybox", "true"]}).encode(), fds=())
refused += "error" in ask(json.dumps({"args": ["/bin/busybox", "true"]}).encode(), fds=(null,) * 5)
print(refused, "of", len(cases) + 2, "refused")
PY
)
  check "$h: hostile exec requests refused" "11 of 11 refused" "$out"
  check "$h: exec still served after them" "still" "$("$spectrum" --root "$root" exec $id /bin/busybox echo still 2>&1)"
  "$spectrum" --root "$root" exec --detach --pid-file "$tmp/exec.pid" $id /bin/busybox sleep 77
  kill -KILL "$(cat "$tmp/exec.pid")"
  rm -f "$tmp/exec.pid"
  for _ in $(seq 50); do "$spectrum" --root "$root" exec $id /bin/busybox ps | grep -q 'sleep 77' || break; sleep 0.1; done
  check "$h: the proxy's death ends its process" "" "$("$spectrum" --root "$root" exec $id /bin/busybox ps | grep 'sleep 77')"
}

signals() {  # signals HANDLER ID: the monitor as the container's process, kill's range, signals to the guest
  local h=$1 id=$2 run pid bad out
  bundle "c['process']['args']=['/bin/guest','ignore-term']; c['annotations']={'run.oci.handler':'$h'}"
  "$spectrum" --root "$root" run --bundle "$tmp/b" $id >"$tmp/out" 2>"$tmp/err" &
  run=$!
  for _ in $(seq 100); do grep -q ready "$tmp/out" && break; sleep 0.1; done
  check "$h: the guest runs" ready "$(head -1 "$tmp/out")"
  guest_exec $h $id
  pid=$("$spectrum" --root "$root" state $id | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
  if [ "$h" = vm ]; then
    check "vm: state's pid is the monitor (holds the vCPU)" yes "$(ls -l /proc/$pid/fd 2>/dev/null | grep -q 'anon_inode:kvm-vcpu' && echo yes || echo no)"
    check "vm: the monitor is the container's only process" "$pid" "$("$spectrum" --root "$root" ps --format json $id | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin))))')"
  else
    # The ptrace platform's monitor traces its one child, the stub that runs the guest's code.
    check "sandbox: state's pid is the monitor (tracing the stub)" "$pid" "$(awk '/^TracerPid:/ {print $2}' /proc/$(pgrep -P $pid | head -1)/status 2>/dev/null)"
  fi
  # Signal numbers kill(2) does not take are refused by name, the container untouched.
  for bad in 65 0 -9 99999999999 9x; do
    out=$("$spectrum" --root "$root" kill $id "$bad" 2>&1)
    check "$h: kill $bad refused" "1 yes" "$? $(grep -q "invalid signal '$bad'" <<<"$out" && echo yes || echo "no: $out")"
  done
  # SIGTERM reaches the guest, which ignores it: as on Linux, an ignored signal does not cut its
  # sleep short (the sandbox kernel discards it; the monitor before it returned EINTR).
  "$spectrum" --root "$root" kill $id TERM
  sleep 0.3
  check "$h: SIGTERM did not interrupt the ignoring guest" "" "$(grep -m1 interrupted "$tmp/out")"
  check "$h: the guest ignored SIGTERM" running "$(status_of $id)"
  # The container's verbs work on the monitor as on any container's process.
  "$spectrum" --root "$root" pause $id
  check "$h: pause" paused "$(status_of $id)"
  "$spectrum" --root "$root" resume $id
  check "$h: resume" running "$(status_of $id)"
  check "$h: events --stats" yes "$("$spectrum" --root "$root" events --stats $id | grep -q '"memory"' && echo yes || echo no)"
  # SIGUSR1: the guest's default action ends it, with the status of a death by SIGUSR1.
  "$spectrum" --root "$root" kill $id USR1
  wait $run
  check "$h: SIGUSR1 ends the guest (128+10)" 138 "$?"
  check "$h: the reason on stderr" yes "$(grep -q 'default action of SIGUSR1' "$tmp/err" && echo yes || echo "no: $(cat "$tmp/err")")"
  check "$h: nothing left after the run" "" "$(nothing_left)"
}

if [ -n "$vm_skip" ]; then echo "SKIP (vm): $vm_skip"; else signals vm v1; fi
signals sandbox v3
bundle "c['process']['args']=['/bin/busybox','sh','-c','echo hello from the sandbox; exit 4']; c['annotations']={'run.oci.handler':'sandbox'}"
out=$("$spectrum" --root "$root" run --bundle "$tmp/b" v4 2>&1)
check "sandbox: output and exit code" "4 hello from the sandbox" "$? $out"

# A dynamically linked program: while the root lacks its dynamic linker, create fails naming it
# and leaves nothing; with the linker and libc in the root, the sandbox kernel loads and runs it.
cp /bin/echo "$tmp/b/rootfs/bin/dynamic-echo"
for h in vm sandbox; do
  [ $h = vm ] && [ -n "$vm_skip" ] && continue
  bundle "c['process']['args']=['/bin/dynamic-echo','hello','dynamic']; c['annotations']={'run.oci.handler':'$h'}"
  out=$("$spectrum" --root "$root" create --bundle "$tmp/b" v2 2>&1)
  check "$h: a missing dynamic linker refused at create" "1 yes" "$? $(grep -q 'dynamic linker /lib64/ld-linux-x86-64.so.2 is not in the root filesystem' <<<"$out" && echo yes || echo "no: $out")"
  check "$h: nothing left after the refusal" "" "$(nothing_left)"
done
mkdir -p "$tmp/b/rootfs/lib64" "$tmp/b/rootfs/lib/x86_64-linux-gnu"
cp -L /lib64/ld-linux-x86-64.so.2 "$tmp/b/rootfs/lib64/"
cp -L /lib/x86_64-linux-gnu/libc.so.6 "$tmp/b/rootfs/lib/x86_64-linux-gnu/"
for h in vm sandbox; do
  [ $h = vm ] && [ -n "$vm_skip" ] && continue
  bundle "c['process']['args']=['/bin/dynamic-echo','hello','dynamic']; c['annotations']={'run.oci.handler':'$h'}"
  out=$("$spectrum" --root "$root" run --bundle "$tmp/b" v5 2>&1)
  check "$h: a dynamic program runs" "0 hello dynamic" "$? $out"
  check "$h: nothing left after it" "" "$(nothing_left)"
done

# The config's pids limit is the guest's too (a vm guest's processes are no host processes; the
# sandbox's stubs are, and the cgroup counts them): 20 background jobs under a limit of 8 fail to
# fork, as in a container, and the run still ends cleanly.
for h in vm sandbox; do
  [ $h = vm ] && [ -n "$vm_skip" ] && continue
  bundle "c['process']['args']=['/bin/busybox','sh','-c','for i in \$(seq 20); do sleep 2 & done; echo started 20']; c['annotations']={'run.oci.handler':'$h'}; c['linux'].setdefault('resources', {})['pids']={'limit': 8}"
  out=$("$spectrum" --root "$root" run --bundle "$tmp/b" v6 2>&1)
  check "$h: the pids limit holds in the guest" "yes" \
    "$(grep -q "can't fork" <<<"$out" && ! grep -q 'started 20' <<<"$out" && echo yes || echo "no: $out")"
  check "$h: nothing left after it" "" "$(nothing_left)"
done

[ $failures -eq 0 ] && echo "all vm handler checks passed"
exit $((failures > 0))
