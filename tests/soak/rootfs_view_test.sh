#!/bin/bash
# The user's root filesystem is never changed by accident: a workload that changes everything it
# can reach under / (tests/soak/mutate.c) leaves --rootfs byte-identical (contents, modes, owners,
# links, mtimes), in every tier that takes a --rootfs and is usable here; --keep-changes keeps its
# changes in DIR/upper, --rootfs-writable lets them land; the same for a user without privileges
# in the vm and sandbox tiers; a SIGKILLed spectrum leaves no view mounted in any namespace.
# Usage: rootfs_view_test.sh SPECTRUM REPO_DIR MUTATE
set -u
spectrum=$(readlink -f "$1")
repo=$2
mutate=$(readlink -f "$3")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
. "$repo/tests/soak/lib.sh" || exit 1
tmp=$(mktemp -d /tmp/spectrum-view.XXXXXX)
victim=""
cleanup() {
  [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
"$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
cp "$mutate" "$tmp/rootfs/bin/mutate"
mkdir -p "$tmp/rootfs/data/deep/er"
echo precious > "$tmp/rootfs/data/deep/er/file"
echo owned > "$tmp/rootfs/data/owned"
chown 1000:1000 "$tmp/rootfs/data/owned"
chmod 0640 "$tmp/rootfs/data/owned"
ln -s ../etc/passwd "$tmp/rootfs/data/link"
before=$(tree_hash "$tmp/rootfs")

tiers=$(usable_tiers "$spectrum" | grep -x 'container\|vm\|sandbox')
[ -n "$tiers" ] || { echo "SKIP: no tier with a --rootfs is usable here"; exit 77; }
for tier in $tiers; do
  # A tier that `info` calls usable but that cannot run a plain program here is reported, not
  # tested (its own tests fail for that).
  if ! err=$("$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" --rootfs-writable -- /bin/true 2>&1); then
    echo "SKIP $tier: a plain run fails here: $err"
    continue
  fi
  # The default: a private copy-on-write view.
  out=$("$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" -- /bin/mutate run1 2>&1)
  echo "$tier: $out"
  changed=$(echo "$out" | sed -n 's/.*changed \([0-9]*\).*/\1/p')
  check_true "$tier: the workload changed files ($changed)" test "${changed:-0}" -gt 100
  check "$tier: rootfs byte-identical after the run" "$before" "$(tree_hash "$tmp/rootfs")"

  # --keep-changes DIR: the same changes kept in DIR/upper, the rootfs still untouched.
  "$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" --keep-changes "$tmp/kept-$tier" -- /bin/mutate run2 >/dev/null 2>&1
  check "$tier: --keep-changes: rootfs byte-identical" "$before" "$(tree_hash "$tmp/rootfs")"
  check "$tier: --keep-changes: the new file kept" "run2" "$(cat "$tmp/kept-$tier/upper/spectrum-was-here" 2>&1)"
  check "$tier: --keep-changes: no work directory left" "no" "$([ -e "$tmp/kept-$tier/work" ] && echo yes || echo no)"
  # A run that changes nothing keeps nothing: no mount point of the tier's own (the vm and
  # sandbox tiers' /dev/shm) shows up as a change.
  "$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" --keep-changes "$tmp/kept-true-$tier" -- /bin/true >/dev/null 2>&1
  check "$tier: --keep-changes of /bin/true: DIR/upper empty" "" "$(cd "$tmp/kept-true-$tier/upper" && find . -mindepth 1)"
  # A second run into the same DIR would mix two runs' changes: refused (125), nothing started.
  "$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" --keep-changes "$tmp/kept-$tier" -- /bin/true 2>"$tmp/err"
  check "$tier: --keep-changes into a used DIR: 125" "125" "$?"
  check_true "$tier: the error names DIR/upper" grep -q "kept-$tier/upper" "$tmp/err"

  # --rootfs-writable: the changes land (on a copy, the original stays for the next tier).
  rm -rf "$tmp/writable"
  cp -a "$tmp/rootfs" "$tmp/writable"
  "$spectrum" run --tier "$tier" --rootfs "$tmp/writable" --rootfs-writable -- /bin/mutate run3 >/dev/null 2>&1
  check "$tier: --rootfs-writable: the change landed" "run3" "$(cat "$tmp/writable/spectrum-was-here" 2>&1)"
  "$spectrum" run --tier "$tier" --rootfs "$tmp/rootfs" --rootfs-writable --keep-changes "$tmp/x" -- /bin/true 2>/dev/null
  check "$tier: --rootfs-writable with --keep-changes: 125" "125" "$?"
done

# A user without privileges (the vm tier's users are in the kvm group, not root): spectrum gets
# its mount namespace through a user namespace of its own, and the view is the same. Run as
# nobody, on a rootfs nobody owns; the vm tier through a node of the real /dev/kvm that nobody may
# open (SPECTRUM_KVM_DEVICE), the host's own left as it is.
if command -v setpriv >/dev/null && echo "$tiers" | grep -qx 'vm\|sandbox'; then
  user=65534
  mkdir -p "$tmp/user"
  chmod 755 "$tmp" "$tmp/user"
  cp -a "$tmp/rootfs" "$tmp/user/rootfs"
  chown -R "$user:$user" "$tmp/user"
  user_before=$(tree_hash "$tmp/user/rootfs")
  as_user() { env XDG_RUNTIME_DIR="$tmp/user" setpriv --reuid=$user --regid=$user --clear-groups "$@"; }
  [ -c /dev/kvm ] && mknod -m 666 "$tmp/user/kvm" c $((0x$(stat -c '%t' /dev/kvm))) $((0x$(stat -c '%T' /dev/kvm)))
  for tier in $(echo "$tiers" | grep -x 'vm\|sandbox'); do
    out=$(as_user env SPECTRUM_KVM_DEVICE="$tmp/user/kvm" "$spectrum" run --tier "$tier" --rootfs "$tmp/user/rootfs" \
      -- /bin/mutate user 2>&1)
    echo "$tier as uid $user: $(echo "$out" | tail -n 1)"
    changed=$(echo "$out" | sed -n 's/.*changed \([0-9]*\).*/\1/p')
    check_true "$tier as uid $user: the workload changed files in its view (${changed:-none})" test "${changed:-0}" -gt 100
    check "$tier as uid $user: rootfs byte-identical after the run" "$user_before" "$(tree_hash "$tmp/user/rootfs")"
    as_user env SPECTRUM_KVM_DEVICE="$tmp/user/kvm" "$spectrum" run --tier "$tier" --rootfs "$tmp/user/rootfs" \
      --keep-changes "$tmp/user/kept-$tier" -- /bin/mutate user2 >/dev/null 2>&1
    check "$tier as uid $user: --keep-changes: the new file kept" "user2" \
      "$(cat "$tmp/user/kept-$tier/upper/spectrum-was-here" 2>&1)"
    check "$tier as uid $user: --keep-changes: no work directory left" "no" \
      "$([ -e "$tmp/user/kept-$tier/work" ] && echo yes || echo no)"
    check "$tier as uid $user: --keep-changes: rootfs byte-identical" "$user_before" "$(tree_hash "$tmp/user/rootfs")"
  done
  # The mount point of the user's views (a tmpfs in spectrum's namespace only) stays empty.
  check "the user's views directory is empty" "" "$(ls -A "$tmp/user/spectrum-views" 2>/dev/null)"
fi

# SIGKILL of spectrum while the workload writes: the kernel drops the view with spectrum's mount
# namespace; no mount of it is left in any namespace, and the rootfs is untouched.
if echo "$tiers" | grep -qx container; then
  "$spectrum" run --tier container --rootfs "$tmp/rootfs" -- \
    /bin/sh -c 'echo x > /written; chmod 777 /bin; while :; do echo y >> /written; sleep 0.1; done' soak-view-victim &
  victim=$!
  for _ in $(seq 100); do pgrep -f soak-view-victim | grep -vqx "$victim" && break; sleep 0.05; done
  sleep 0.3
  # The mount namespaces holding this run's view: spectrum's own and the container's. Other tests'
  # runs have views of their own at the same time, so the check is on these namespaces alone.
  victim_ns=$(for p in "$victim" $(pgrep -f soak-view-victim); do readlink "/proc/$p/ns/mnt"; done | sort -u)
  kill -9 "$victim"
  wait "$victim" 2>/dev/null
  victim=""
  for _ in $(seq 100); do [ -z "$(pgrep -f soak-view-victim)" ] && break; sleep 0.05; done
  check "SIGKILL: no workload process left" "" "$(pgrep -f soak-view-victim)"
  # A namespace no process is in any more is gone, with every mount in it (the view included).
  check "SIGKILL: no view mounted in any namespace" "0" \
    "$(for p in /proc/[0-9]*; do readlink "$p/ns/mnt"; done 2>/dev/null | grep -cxF "$victim_ns")"
  check "SIGKILL: no mount of the test's folder on the host" "0" "$(grep -c "$tmp" /proc/self/mountinfo)"
  check "SIGKILL: rootfs byte-identical" "$before" "$(tree_hash "$tmp/rootfs")"
fi
# The flags without --rootfs: a one-line error (125) naming the flag, in any tier.
out=$("$spectrum" run --tier native --keep-changes "$tmp/x" -- /bin/true 2>&1)
check "--keep-changes without --rootfs: 125" "125" "$?"
check "--keep-changes without --rootfs: named" "spectrum: error: --keep-changes needs --rootfs" "$out"
"$spectrum" run --tier native --rootfs-writable -- /bin/true 2>/dev/null
check "--rootfs-writable without --rootfs: 125" "125" "$?"
check "the host's views directory is empty" "" "$(ls -A /run/spectrum/views 2>/dev/null)"
finish
