#!/bin/bash
# The OCI runtime under concurrency: 50 containers created and started at once against one --root,
# with state, ps, list, kill and delete interleaved; every command's answer stays consistent and
# none corrupts another's. A state file truncated or filled with garbage gives a clear error that
# names the container, and `delete --force` still cleans up (process, cgroups, state directory).
# Usage: oci_concurrency_test.sh SPECTRUM REPO_DIR [COUNT]
set -u
spectrum=$(readlink -f "$1")
repo=$2
count=${3:-50}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
. "$repo/tests/soak/lib.sh" || exit 1
tmp=$(mktemp -d /tmp/spectrum-oci-conc.XXXXXX)
root=$tmp/state
prefix=soak$$x
naps=$((700000 + RANDOM))  # the workload's argument: names its processes on the host
oci() { "$spectrum" --root "$root" "$@"; }
cleanup() {
  for d in "$root"/*; do [ -e "$d" ] && oci delete --force "$(basename "$d")" >/dev/null 2>&1; done
  pkill -9 -f "^/bin/sleep $naps\$" 2>/dev/null
  # The parent of the cgroupsPath below: made by the runtime, and left by it as runc leaves one.
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "${prefix}own" -exec rmdir {} + 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
"$repo/scripts/busybox-rootfs" "$tmp/bundle/rootfs" >/dev/null || exit 1
"$spectrum" spec --no-terminal --bundle "$tmp/bundle" || exit 1
jq --arg n "$naps" '.process.args = ["/bin/sleep", $n]' "$tmp/bundle/config.json" >"$tmp/c.json" &&
  mv "$tmp/c.json" "$tmp/bundle/config.json"
workloads() { pgrep -f "^/bin/sleep $naps\$" | wc -l; }
groups() { find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "*$prefix*" ! -name "${prefix}own" 2>/dev/null | wc -l; }

# Creation and start of every container at once, with readers running across them.
for i in $(seq "$count"); do
  (oci create --bundle "$tmp/bundle" "$prefix$i" </dev/null >/dev/null 2>"$tmp/create.$i" &&
    oci start "$prefix$i" 2>>"$tmp/create.$i"; echo $? >"$tmp/rc.$i") &
  (oci state "$prefix$((RANDOM % count + 1))" >/dev/null 2>&1; oci list >/dev/null 2>&1) &
done
# Readers while they start: any answer must be whole JSON for the container asked about (or a
# clean "does not exist" while it is being created).
torn=0
for _ in $(seq 40); do
  id=$prefix$((RANDOM % count + 1))
  if out=$(oci state "$id" 2>/dev/null); then
    [ "$(echo "$out" | jq -r .id 2>/dev/null)" = "$id" ] || { torn=$((torn + 1)); echo "torn state of $id: $out"; }
  fi
done
wait
check "no torn state answer while starting" "0" "$torn"
failed_starts=0
for i in $(seq "$count"); do
  [ "$(cat "$tmp/rc.$i" 2>/dev/null)" = 0 ] || { failed_starts=$((failed_starts + 1)); echo "start $i: $(cat "$tmp/create.$i")"; }
done
check "all $count created and started" "0" "$failed_starts"
running=0
for i in $(seq "$count"); do
  st=$(oci state "$prefix$i" 2>/dev/null)
  [ "$(echo "$st" | jq -r .status)" = running ] && [ -d "/proc/$(echo "$st" | jq -r .pid)" ] && running=$((running + 1))
done
check "state: all $count running, each with a live pid" "$count" "$running"
check "list: $count containers" "$count" "$(oci list --format json | jq "[.[] | select(.id | startswith(\"$prefix\"))] | length")"
check "$count workloads on the host" "$count" "$(workloads)"

# Interleaved: the first half killed then deleted, the second half deleted --force, with state
# and ps of every container running across them.
half=$((count / 2))
for i in $(seq "$count"); do
  if ((i <= half)); then
    (oci kill "$prefix$i" KILL 2>/dev/null
     for _ in $(seq 100); do [ "$(oci state "$prefix$i" 2>/dev/null | jq -r .status)" = stopped ] && break; sleep 0.05; done
     oci delete "$prefix$i" 2>"$tmp/delete.$i"; echo $? >"$tmp/drc.$i") &
  else
    (oci delete --force "$prefix$i" 2>"$tmp/delete.$i"; echo $? >"$tmp/drc.$i") &
  fi
  (oci ps "$prefix$((RANDOM % count + 1))" >/dev/null 2>&1; oci state "$prefix$((RANDOM % count + 1))" >/dev/null 2>&1) &
done
wait
failed_deletes=0
for i in $(seq "$count"); do
  [ "$(cat "$tmp/drc.$i" 2>/dev/null)" = 0 ] || { failed_deletes=$((failed_deletes + 1)); echo "delete $i: $(cat "$tmp/delete.$i")"; }
done
check "every kill+delete and delete --force succeeded" "0" "$failed_deletes"
for _ in $(seq 50); do [ "$(workloads)" = 0 ] && [ "$(groups)" = 0 ] && break; sleep 0.1; done
check "no workload left" "0" "$(workloads)"
check "no cgroup left" "0" "$(groups)"
check "no state left" "" "$(ls -A "$root")"

# A damaged state file: a clear error naming the container; delete --force cleans up anyway, also
# for a container given its own cgroupsPath (containerd's way), whose groups only its state named.
cp -a "$tmp/bundle" "$tmp/own"
jq --arg p "/${prefix}own/${prefix}c" '.linux.cgroupsPath = $p' "$tmp/bundle/config.json" >"$tmp/own/config.json"
for damage in truncated garbage own-cgroup-garbage; do
  id=${prefix}-$damage
  bundle=$tmp/bundle
  [ "$damage" = own-cgroup-garbage ] && bundle=$tmp/own
  oci run --detach --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1 || { check "run $id" 0 1; continue; }
  file=$root/$id/state.json
  [ -f "$file" ] || { check "$damage: state file found" "yes" "no"; continue; }
  if [ "$damage" = own-cgroup-garbage ]; then
    check_true "$damage: the container's own groups exist" test "$(groups)" -gt 0
  fi
  case $damage in
    truncated) : >"$file" ;;
    *garbage) head -c 4096 /dev/urandom >"$file" ;;
  esac
  out=$(oci state "$id" 2>&1)
  rc=$?
  check_true "$damage state: an error, not an answer (rc $rc)" test "$rc" != 0
  check_true "$damage state: one line naming $id: $out" sh -c '[ "$(printf "%s\n" "$1" | wc -l)" = 1 ] && printf "%s" "$1" | grep -q "$2"' _ "$out" "$id"
  oci delete --force "$id" 2>"$tmp/err"
  check "$damage: delete --force succeeds" "0" "$?"
  for _ in $(seq 50); do [ "$(workloads)" = 0 ] && [ "$(groups)" = 0 ] && break; sleep 0.1; done
  check "$damage: its workload is gone" "0" "$(workloads)"
  check "$damage: its cgroups are gone" "0" "$(groups)"
  check "$damage: its state is gone" "" "$(ls -A "$root")"
done
finish
