# Sourced by the soak tests: named checks, the tiers usable here, and what Spectrum may leave on
# the host (the leak census every test ends with).
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; failures=$((failures + 1)); fi
}
check_true() {  # check_true NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
finish() {
  [ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
  echo "all checks passed"
  exit 0
}

# usable_tiers SPECTRUM: the tiers `spectrum info --json` calls usable, one a line.
usable_tiers() {
  "$1" info --json | jq -r '.[] | select(.usable) | .tier'
}

# The hash of a whole tree: every entry's path, type, mode, owner, size, link target and mtime,
# then every regular file's contents.
tree_hash() {
  (cd "$1" && {
    find . -printf '%p %y %m %U %G %s %l %T@\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  } | sha256sum | cut -d' ' -f1)
}

# What Spectrum leaves on the host, one "kind count" line each (all zero when clean), scoped to
# this test's own runs, since other work may run spectrum on the same host at the same time:
#  processes   whose command line holds TAG (every workload of a test carries it), or spectrum
#              processes whose PID is in PIDS_FILE (one a line: every spectrum the test started);
#  mounts      in the host's namespace that name a view or the test's directory;
#  views       entries left in the host's /run/spectrum/views (always an empty directory);
#  cgroups     spectrum/run-PID-* of those PIDs, in every hierarchy;
#  state       entries under STATE_ROOT (an OCI --root), if given;
#  memfds, kvm descriptors held by the test's spectrum processes still alive.
leak_census() {  # leak_census TAG PIDS_FILE TEST_DIR [STATE_ROOT]
  local tag=$1 pids_file=$2 dir=$3 state=${4:-} pid alive=0 memfd=0 kvm=0 groups=0
  local procs
  procs=$(pgrep -f -- "$tag" | grep -vx "$$" | wc -l)
  for pid in $(cat "$pids_file" 2>/dev/null); do
    if [ -d "/proc/$pid" ] && grep -qx spectrum "/proc/$pid/comm" 2>/dev/null; then
      alive=$((alive + 1))
      memfd=$((memfd + $(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'memfd:')))
      kvm=$((kvm + $(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'kvm')))
    fi
  done
  # A group named after one of our PIDs is not ours when that PID now belongs to a live process
  # without the tag: another spectrum on this host reused the number (the host's other work makes
  # such groups all the time; a tier that makes none, like sandbox, was flagged by it).
  groups=0
  for pid in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*spectrum/run-*' 2>/dev/null |
    sed 's|.*/run-||; s|-.*||' | grep -xFf "$pids_file" 2>/dev/null); do
    if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$tag"; then
      continue
    fi
    groups=$((groups + 1))
  done
  echo "processes $((procs + alive))"
  echo "mounts $(cat /proc/self/mountinfo /proc/1/mountinfo | grep -c "spectrum-rootfs\|spectrum-views\|$dir")"
  echo "views $(find /run/spectrum/views -mindepth 1 2>/dev/null | wc -l)"
  echo "cgroups $groups"
  [ -n "$state" ] && echo "state $(find "$state" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
  echo "memfds $memfd"
  echo "kvm-fds $kvm"
}

# The census must be all zeros; prints the non-zero lines and counts a failure otherwise.
check_no_leaks() {  # check_no_leaks WHEN TAG PIDS_FILE TEST_DIR [STATE_ROOT]
  local when=$1; shift
  local dirty
  dirty=$(leak_census "$@" | awk '$2 != 0')
  check "nothing left $when" "" "$dirty"
  [ -z "$dirty" ]
}

# soak_setup NAME SPECTRUM REPO LOAD [TIER...]: the preamble every soak test shares. Sets tmp (a
# fresh directory), tag (carried by every workload), pids_file and tiers (those asked for, or
# those `info` calls usable, less any that cannot run a plain program here: each is reported and
# left out, since its own tests fail for that). A busybox root holding LOAD as /load is built in
# $tmp/rootfs for the rootfs tiers, and LOAD as wasm in $tmp/load.wasm for the wasm tier. The EXIT
# trap kills what carries the tag, runs soak_cleanup_extra if the test defines it, and removes tmp.
soak_setup() {
  local name=$1 spectrum=$2 repo=$3 load=$4 t o err
  shift 4
  command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
  tmp=$(mktemp -d "/tmp/spectrum-$name.XXXXXX")
  tag=spectrum-$name-$$-$RANDOM
  pids_file=$tmp/pids
  : >"$pids_file"
  trap 'declare -F soak_cleanup_extra >/dev/null && soak_cleanup_extra; pkill -9 -f -- "$tag" 2>/dev/null; rm -rf "$tmp"' EXIT
  tiers=$([ $# -gt 0 ] && printf "%s\n" "$@" || usable_tiers "$spectrum")
  if echo "$tiers" | grep -qx 'container\|vm\|sandbox'; then
    "$repo/scripts/busybox-rootfs" "$tmp/rootfs" >/dev/null || exit 1
    cp "$load" "$tmp/rootfs/load"
  fi
  for t in $tiers; do
    [ "$t" = wasm ] && continue
    o=(); [ "$t" = native ] || o=(--rootfs "$tmp/rootfs")
    if ! err=$("$spectrum" run --tier "$t" "${o[@]}" -- /bin/true 2>&1); then
      echo "SKIP $t: a plain run fails here: $err"
      tiers=$(echo "$tiers" | grep -vx "$t")
    fi
  done
  if echo "$tiers" | grep -qx wasm; then
    clang-16 --target=wasm32-wasi -O2 -o "$tmp/load.wasm" "$repo/tests/soak/load.c" ||
      { echo "no wasm32-wasi toolchain: the wasm tier is left out"; tiers=$(echo "$tiers" | grep -vx wasm); }
  fi
}
