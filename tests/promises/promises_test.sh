#!/bin/sh
# The promises every tier keeps, checked table-driven over every tier `spectrum info` calls usable:
# the same workload gives the same exit code, 128+N on a signal, 124 on timeout, OOM on the memory
# limit, the captured output, the environment, the working directory and Ctrl-C forwarding.
# A tier that differs fails, except for the deliberate differences named in docs/tiers.md, which are
# encoded below as that tier's expectation. Usage: promises_test.sh SPECTRUM SOURCE_DIR WORK_DIR
set -eu
spectrum=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$2
work=$3
mkdir -p "$work"
work=$(cd "$work" && pwd)

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
  echo "FAIL [$tier/$case]: $*" >&2
  failed=$((failed + 1))
}
expect() { [ "$2" = "$3" ] && pass || fail "$1: expected '$3', got '$2'"; }

# The workload in both flavours, and a root filesystem holding the static one.
gcc -O2 -static -Wall -o "$work/promise" "$top/tests/promises/promise.c"
clang-16 --target=wasm32-wasi -O2 -Wall -o "$work/promise.wasm" "$top/tests/promises/promise.c"
[ -x "$work/rootfs/bin/busybox" ] || "$top/scripts/busybox-rootfs" "$work/rootfs" >/dev/null
cp "$work/promise" "$work/rootfs/promise"

# run TIER [OPTIONS...] -- MODE ARGS: the tier's program path and options filled in; sets $status and
# $record.
run() {
  t=$1
  shift
  case $t in
    native) program=$work/promise ;;
    wasm) program=$work/promise.wasm ;;
    *) program=/promise ;;
  esac
  set -- "$@"
  opts=""
  while [ "$1" != "--" ]; do
    opts="$opts $1"
    shift
  done
  shift
  case $t in
    container | vm | sandbox) opts="$opts --rootfs $work/rootfs" ;;
  esac
  status=0
  # shellcheck disable=SC2086
  record=$("$spectrum" run --tier "$t" --json --stdout capture --stderr capture $opts -- "$program" "$@" \
    2>"$work/err") || status=$?
}
field() { printf '%s' "$record" | jq -r "$1" 2>/dev/null || echo "(no record: $(head -c 200 "$work/err"))"; }

tiers=$("$spectrum" info --json | jq -r '.[] | select(.usable) | .tier')
"$spectrum" info --json | jq -r '.[] | select(.usable | not) | "\(.tier): not usable here, skipped (\(.reason))"'
for tier in $tiers; do
  case=exit
  run "$tier" -- exit 42
  expect status "$status" 42
  expect outcome "$(field .outcome)" exited

  case=signal
  run "$tier" -- crash
  expect status "$status" 139
  expect outcome "$(field .outcome)" signaled
  expect signal "$(field .signal)" 11

  case=timeout
  run "$tier" --timeout 300ms -- spin
  expect status "$status" 124
  expect outcome "$(field .outcome)" timed_out

  case=memory
  run "$tier" --memory 64M -- alloc 512
  case $tier in
    # A tier with its own allocator refuses the allocation, as a kernel without overcommit would.
    wasm | vm | sandbox)
      expect status "$status" 3
      expect stdout "$(field .stdout | cut -c1-13)" "refused after"
      ;;
    *)
      expect status "$status" 137
      expect outcome "$(field .outcome)" out_of_memory
      ;;
  esac

  case=output
  run "$tier" -- echo a "b c"
  expect stdout "$(field .stdout)" "a b c
to-stderr"
  expect stderr "$(field .stderr)" "err-line"

  case=environment
  run "$tier" --env PROMISE_VAR=xyz -- env PROMISE_VAR
  expect stdout "$(field .stdout)" xyz
  run "$tier" --clear-env -- env HOME
  expect "cleared stdout" "$(field .stdout)" "(unset)"

  case=workdir
  if [ "$tier" = wasm ]; then
    # WASI has no working directory to give: the option is refused (docs/tiers.md).
    run "$tier" --workdir /tmp -- cwd
    expect status "$status" 125
  else
    run "$tier" --workdir /tmp -- cwd
    expect stdout "$(field .stdout)" /tmp
  fi

  case=relative-paths
  case $tier in
    container | vm | sandbox)
      status=0
      (cd "$work" && "$spectrum" run --tier "$tier" --rootfs rootfs -- /promise exit 7 >/dev/null 2>"$work/err") || status=$?
      expect "status with --rootfs relative to the caller" "$status" 7
      ;;
  esac

  case=ctrl-c
  out="$work/ctrl-c.out"
  : >"$out"
  status=0
  # A non-interactive shell starts background jobs with SIGINT ignored; a terminal's would not be.
  env --default-signal=INT "$spectrum" run --tier "$tier" --stdout "file:$out" --timeout 20s \
    $(case $tier in container | vm | sandbox) echo "--rootfs $work/rootfs" ;; esac) \
    -- "$(case $tier in native) echo "$work/promise" ;; wasm) echo "$work/promise.wasm" ;; *) echo /promise ;; esac)" \
    wait-int 2>"$work/err" &
  pid=$!
  i=0
  while [ "$i" -lt 500 ] && ! grep -q ready "$out"; do
    sleep 0.02
    i=$((i + 1))
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  case $tier in
    # No signal handlers in WASI: SIGINT takes its default action. The vm/sandbox guest's handler
    # runs (the sandbox kernel delivers the forwarded signal), as natively.
    wasm) expect status "$status" 130 ;;
    *)
      expect status "$status" 9
      expect output "$(tail -n 1 "$out")" got-int
      ;;
  esac
done
echo "promises: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
