#!/bin/bash
# The Kubernetes path without a kubelet (issue 14): a private containerd with its CRI plugin and a
# runtime table as a cluster would configure it for its RuntimeClasses: `spectrum` (container),
# `spectrum-wasm`, `spectrum-vm` and `spectrum-sandbox`, each an io.containerd.runc.v2 runtime whose
# BinaryName is the link installed next to spectrum. A small CRI client (cri/cri_client.py:
# python3-grpcio, the messages it needs in cri/cri.proto with the CRI API's field numbers) makes
# the kubelet's calls for one pod per handler: RunPodSandbox with that runtime_handler (host
# network: no CNI), CreateContainer, StartContainer, ContainerStatus until it exits, then
# RemoveContainer, StopPodSandbox, RemovePodSandbox; also StopContainer of a running one. Checks
# the logs and exit codes, and that nothing is left. The pod's pause container is a busybox image
# built here (sandbox_image). vm skips with the reason where /dev/kvm is absent or the vm tier
# cannot run, sandbox where the sandbox tier cannot.
# Usage: cri_test.sh SPECTRUM REPO_DIR VM_GUEST (tests/container/vm_guest.c, static)
set -u
spectrum=$(readlink -f "$1")
repo=$(readlink -f "$2")
vm_guest=$(readlink -f "$3")
bin_dir=$(dirname "$spectrum")
failures=0
. "$repo/tests/container/check.sh" || exit 1
. "$repo/tests/container/containerd_env.sh" || exit 1
containerd_env cri containerd ctr umoci skopeo clang-16 protoc
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null ||
  { echo "SKIP: python3-grpcio (Debian) is not installed"; exit 77; }
for link in spectrum-wasm spectrum-vm spectrum-sandbox; do
  [ -x "$bin_dir/$link" ] || { echo "FAIL: $bin_dir/$link (the build's link) is missing"; exit 1; }
done
# The CRI plugin works in containerd's k8s.io namespace.
ns=k8s.io
C="ctr -a $tmp/containerd.sock -n $ns"
cgroup_parent=/spectrum-cri-$$
containerd_extra_cleanup() {
  for controller in memory pids freezer devices cpu cpuacct cpuset; do
    [ -d /sys/fs/cgroup/$controller$cgroup_parent ] && find /sys/fs/cgroup/$controller$cgroup_parent -depth -type d -exec rmdir {} \; 2>/dev/null
  done
}

busybox_image "$tmp/pause.tar" true localhost/spectrum-pause:latest "/bin/sleep 2147483647"
busybox_image "$tmp/busybox.tar" "cp '$vm_guest' rootfs/bin/guest"
"$repo/tests/container/wasm/build-image" "$repo" "$tmp/wasm" >"$tmp/wasm-image.log" 2>&1 ||
  { cat "$tmp/wasm-image.log"; echo "FAIL: cannot build the wasm image"; exit 1; }
mkdir -p "$tmp/stubs" "$tmp/logs" "$tmp/cni/bin" "$tmp/cni/conf"
"$repo/scripts/busybox-rootfs" "$tmp/probe-root" >/dev/null || exit 1  # whether vm and sandbox run here
protoc -I "$repo/tests/container/cri" --python_out="$tmp/stubs" "$repo/tests/container/cri/cri.proto" ||
  { echo "FAIL: protoc"; exit 1; }

runtime() {  # runtime NAME BINARY: one entry of the CRI plugin's runtime table
  cat <<TOML
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$1.options]
        BinaryName = "$2"
        Root = "$tmp/runc"
TOML
}
CONTAINERD_CRI=1 containerd_start "$(cat <<TOML
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/spectrum-pause:latest"
  disable_apparmor = true
  # Root lacks CAP_SYS_RESOURCE on these machines: no oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$tmp/cni/bin"
    conf_dir = "$tmp/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "spectrum"
$(runtime spectrum "$bin_dir/spectrum")
$(runtime spectrum-wasm "$bin_dir/spectrum-wasm")
$(runtime spectrum-vm "$bin_dir/spectrum-vm")
$(runtime spectrum-sandbox "$bin_dir/spectrum-sandbox")
TOML
)"
for archive in pause busybox; do
  $C images import "$tmp/$archive.tar" >/dev/null || { echo "FAIL: import $archive"; exit 1; }
done
$C images import --base-name localhost/spectrum-wasm "$tmp/wasm/wasm.tar" >/dev/null || { echo "FAIL: import wasm"; exit 1; }

pod() {  # pod MODE HANDLER NAME IMAGE ARGS...: one pod through the CRI client, its JSON result
  /usr/bin/python3 "$repo/tests/container/cri/cri_client.py" "$tmp/stubs" "$tmp/containerd.sock" "$1" "$2" "$3" \
    "$4" "$tmp/logs/$3" "$cgroup_parent" "${@:5}"
}
field() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r.get("error") or r.get(sys.argv[2], ""))' "$1" "$2"; }
log_lines() { field "$1" log | sed -E 's/^[^ ]+ (stdout|stderr) [FP] //'; }

out=$(pod run spectrum c-run localhost/spectrum-busybox:latest sh -c 'echo hello from a pod; exit 3')
check "cri container: exit code" 3 "$(field "$out" exit_code)"
check "cri container: log" "hello from a pod" "$(log_lines "$out")"

out=$(pod run spectrum-wasm w-run localhost/spectrum-wasm:latest one two)
check "cri wasm: exit code" 0 "$(field "$out" exit_code)"
check "cri wasm: log (argv, the image's env)" "hello from wasm argc=3 one two GREETING=from-the-image" "$(log_lines "$out")"
out=$(pod run spectrum-wasm w-exit localhost/spectrum-wasm:latest exit 5)
check "cri wasm: the module's exit code" 5 "$(field "$out" exit_code)"
out=$(pod stop spectrum-wasm w-stop localhost/spectrum-wasm:latest sleep 1000)
check "cri wasm: StopContainer ends it by SIGTERM" 143 "$(field "$out" exit_code)"
check "cri wasm: its log, the reason last" \
  "sleeping|spectrum wasm: SIGTERM to spectrum: WASI has no signals, so the default action, interrupted in _start" \
  "$(log_lines "$out" | grep -v '^$' | paste -sd'|')"

if [ ! -c /dev/kvm ]; then
  echo "SKIP (vm): /dev/kvm is absent"
elif ! why=$("$spectrum" run --tier vm --rootfs "$tmp/probe-root" -- /bin/busybox true 2>&1); then
  echo "SKIP (vm): the vm tier cannot run on this host: $why"
else
  out=$(pod run spectrum-vm v-run localhost/spectrum-busybox:latest /bin/busybox sh -c 'echo hello from the guest; exit 3')
  check "cri vm: exit code" 3 "$(field "$out" exit_code)"
  check "cri vm: log" "hello from the guest" "$(log_lines "$out")"
  out=$(pod stop spectrum-vm v-stop localhost/spectrum-busybox:latest /bin/guest sleep)
  check "cri vm: StopContainer: SIGTERM reaches the guest" 143 "$(field "$out" exit_code)"
  check "cri vm: its log, the reason last" "ready|spectrum vm: the guest took the default action of SIGTERM, sent to its monitor" \
    "$(log_lines "$out" | grep -v '^$' | paste -sd'|')"
fi

# The sandbox tier's RuntimeClass (the vm tier's monitor on ptrace: no /dev/kvm needed).
if ! why=$("$spectrum" run --tier sandbox --rootfs "$tmp/probe-root" -- /bin/busybox true 2>&1); then
  echo "SKIP (sandbox): the sandbox tier cannot run on this host: $why"
else
  out=$(pod run spectrum-sandbox s-run localhost/spectrum-busybox:latest /bin/busybox sh -c 'echo hello from the sandbox; exit 6')
  check "cri sandbox: exit code" 6 "$(field "$out" exit_code)"
  check "cri sandbox: log" "hello from the sandbox" "$(log_lines "$out")"
  # ExecSync (a liveness probe, `kubectl exec`): the command runs in the sandbox kernel, beside
  # the guest's pid 1, with its exit code; never on the host kernel.
  out=$(pod exec spectrum-sandbox s-exec localhost/spectrum-busybox:latest /bin/busybox sh -c 'echo up; exec sleep 1000' \
    -- /bin/busybox sh -c 'uname -r; tr "\0" " " < /proc/1/cmdline; exit 4')
  check "cri sandbox: ExecSync's exit code" 4 "$(field "$out" exec_exit_code)"
  check "cri sandbox: ExecSync ran in the sandbox kernel" "yes" \
    "$(f=$(field "$out" exec_stdout); grep -q -- '-spectrum$' <<<"$(head -1 <<<"$f")" && [ "$(tail -1 <<<"$f")" = "sleep 1000 " ] && echo yes || echo "no: $out")"
fi

# An unknown handler is refused by the CRI plugin itself (the RuntimeClass must exist).
out=$(pod run spectrum-nope x-run localhost/spectrum-busybox:latest true)
check "cri: an unknown runtime handler refused" yes "$(grep -q 'spectrum-nope' <<<"$(field "$out" error)" && echo yes || echo "no: $out")"

check "nothing left" "" "$(leftovers)"
left=""
for controller in memory pids freezer devices cpu cpuacct; do
  [ -d /sys/fs/cgroup/$controller$cgroup_parent ] && left="$left$(find /sys/fs/cgroup/$controller$cgroup_parent -mindepth 1 -type d)"
done
check "no pod cgroups left" "" "$left"
check "no container processes left" "" "$(pgrep -f "^/bin/guest sleep|^/hello.wasm sleep 1000" | while read -r p; do grep -l "$cgroup_parent" /proc/$p/cgroup 2>/dev/null; done)"

[ $failures = 0 ] && echo "PASS" || echo "$failures check(s) failed"
exit $((failures > 0))
