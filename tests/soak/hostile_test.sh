#!/bin/bash
# Hostile workloads, host still healthy: per usable tier, a fork bomb under --pids 64, System V
# objects until refused (vm, sandbox), a memory balloon under --memory 64M, a tmpfs filled to its
# limit (container), a signal storm at spectrum, SIGPIPE at spectrum and a reader that went away,
# and 10,000 files opened at once. For each: the limit holds, the record names what happened, and
# a native /bin/true launched meanwhile completes within 10x its idle time (the median of several
# launches against the median of several idle ones; the ratio is printed, the check only fails
# past 10x, since the machine may be loaded by others).
# Usage: hostile_test.sh SPECTRUM REPO_DIR LOAD [TIER...]
set -u
spectrum=$(readlink -f "$1")
repo=$2
load=$(readlink -f "$3")
shift 3
. "$repo/tests/soak/lib.sh" || exit 1
victim=""
soak_cleanup_extra() { [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null; }
soak_setup hostile "$spectrum" "$repo" "$load" "$@"

# One launch of /bin/true, in microseconds.
true_us() {
  local t0 t1
  t0=$(date +%s%N)
  /bin/true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
idle=$(for _ in $(seq 15); do true_us; done | median)
echo "idle /bin/true: ${idle} us (median of 15)"

# hostile TIER NAME OPTIONS... -- ARGS...: runs the workload in the background, launches /bin/true
# while it runs (at least 5 times), then checks the health ratio; leaves the record in $record and
# the exit status in $status.
# run_args TIER: the workload's path in that tier ($program) and the options it needs ($opts).
run_args() {
  opts=()
  case $1 in
    native) program=$load ;;
    wasm) program=$tmp/load.wasm ;;
    *) program=/load; opts=(--rootfs "$tmp/rootfs") ;;
  esac
}
hostile() {
  local tier=$1 name=$2 program opts=()
  shift 2
  run_args "$tier"
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  # A non-interactive shell starts background jobs with SIGINT ignored; a terminal's would not be.
  env --default-signal=INT "$spectrum" run --tier "$tier" --json --stdout capture --stderr capture "${opts[@]}" \
    -- "$program" "$@" "$tag" >"$tmp/rec" 2>"$tmp/err" &
  victim=$!
  echo "$victim" >>"$pids_file"
  [ -n "${storm:-}" ] && $storm "$victim"
  local samples=() n=0
  while [ -d "/proc/$victim" ] || ((n < 5)); do
    samples+=("$(true_us)")
    n=$((n + 1))
    ((n >= 40)) && break
    sleep 0.02
  done
  wait "$victim"
  status=$?
  victim=""
  record=$(cat "$tmp/rec")
  local during
  during=$(printf '%s\n' "${samples[@]}" | median)
  local ratio
  ratio=$(awk -v a="$during" -v b="$idle" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')
  echo "$tier $name: /bin/true ${during} us meanwhile (median of $n), ${ratio}x idle; status $status; $(echo "$record" | jq -c '{outcome, exit_code, signal, detail}' 2>/dev/null)"
  check_true "$tier $name: host responsive (${ratio}x idle <= 10x)" awk -v r="$ratio" 'BEGIN { exit !(r <= 10) }'
}
field() { echo "$record" | jq -r "$1" 2>/dev/null; }

# A storm of signals at spectrum: 500 rounds of the ones it handles (docs/tiers.md: the first is
# forwarded, a second ends the tree) and of the ones whose default is to be ignored.
storm_at() {
  local pid=$1
  sleep 0.2
  for _ in $(seq 500); do
    kill -s WINCH "$pid" 2>/dev/null || break
    kill -s CHLD "$pid" 2>/dev/null
    kill -s INT "$pid" 2>/dev/null
    kill -s TERM "$pid" 2>/dev/null
    kill -s HUP "$pid" 2>/dev/null
    kill -s URG "$pid" 2>/dev/null
  done
}

# One SIGINT, once the workload runs.
int_at() {
  sleep 0.3
  kill -s INT "$1" 2>/dev/null
}

# SIGPIPE sent by hand, 50 times, while spectrum runs.
pipe_at() {
  local pid=$1
  sleep 0.2
  for _ in $(seq 50); do kill -s PIPE "$pid" 2>/dev/null || break; done
}

for tier in $tiers; do
  # Fork bomb: the forks refused at 64, the record says so (native, container); no fork in the
  # vm and wasm tiers' guests, where the bomb fails at once.
  case $tier in
    native | container)
      hostile "$tier" "fork bomb under --pids 64" --pids 64 --timeout 30s -- forkbomb
      check "$tier fork bomb: stopped by the limit (exit 5)" "5" "$status"
      forked=$(field .stdout | sed -n 's/forked //p')
      check_true "$tier fork bomb: fewer than 64 forks ($forked)" test "${forked:-999}" -lt 64
      check_true "$tier fork bomb: the record names the pids limit: $(field .detail)" \
        sh -c 'printf "%s" "$1" | grep -q "pids limit"' _ "$(field .detail)" ;;
  esac

  # System V objects until refused: semaphores and messages live in the vm and sandbox tiers'
  # monitor, outside the guest's memory, so the tier bounds them (64K semaphores, 16 MiB of
  # messages) where Linux's defaults would let the guest make the monitor allocate 8 GB.
  case $tier in
    vm | sandbox)
      hostile "$tier" "System V objects until refused" --timeout 60s -- sysv
      check "$tier sysv: the workload's exit 0" "0" "$status"
      check_true "$tier sysv: at most 65536 semaphores and 2048 messages: $(field .stdout)" \
        sh -c 'set -- $(printf "%s" "$1" | sed -n "s/semaphores \([0-9]*\) messages \([0-9]*\)/\1 \2/p"); [ -n "${1:-}" ] && [ "$1" -le 65536 ] && [ "$2" -le 2048 ]' _ "$(field .stdout)"
      monitor=$(field .counters.monitor_memory_bytes)
      check_true "$tier sysv: the monitor's memory stays small (${monitor} bytes < 128 MiB)" \
        test "${monitor:-999999999999}" -lt 134217728 ;;
  esac

  # Memory balloon: a kill by the kernel (native, container) or an allocation refused by the
  # tier's own allocator (vm, wasm); the run's peak stays within the limit plus the tier's own.
  hostile "$tier" "memory balloon under --memory 64M" --memory 64M --timeout 60s -- alloc 2048
  case $tier in
    native | container)
      check "$tier balloon: out_of_memory" "out_of_memory" "$(field .outcome)"
      check "$tier balloon: status 137" "137" "$status" ;;
    *)
      check "$tier balloon: refused (exit 3)" "3" "$status"
      check_true "$tier balloon: refused below 64 MiB: $(field .stdout)" \
        sh -c 'n=$(printf "%s" "$1" | sed -n "s/refused after \([0-9]*\) MiB.*/\1/p"); [ -n "$n" ] && [ "$n" -lt 64 ]' _ "$(field .stdout)" ;;
  esac

  # A tmpfs filled to its limit: the container's /dev/shm (64 MiB in the default spec).
  if [ "$tier" = container ]; then
    "$spectrum" run --tier container --rootfs "$tmp/rootfs" --json --stdout capture --stderr capture -- \
      /bin/sh -c "dd if=/dev/zero of=/dev/shm/fill bs=1M count=1024; ls -l /dev/shm/fill; df -k /dev/shm" "$tag" \
      >"$tmp/rec" 2>"$tmp/err" &
    victim=$!
    n=0 samples=()
    while [ -d "/proc/$victim" ] || ((n < 5)); do samples+=("$(true_us)"); n=$((n + 1)); ((n >= 40)) && break; sleep 0.02; done
    wait "$victim"; status=$?; victim=""
    record=$(cat "$tmp/rec")
    during=$(printf '%s\n' "${samples[@]}" | median)
    ratio=$(awk -v a="$during" -v b="$idle" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')
    echo "container tmpfs fill: /bin/true ${ratio}x idle; $(field .stderr | head -3 | tr '\n' ' ')"
    check_true "container tmpfs: host responsive (${ratio}x idle <= 10x)" awk -v r="$ratio" 'BEGIN { exit !(r <= 10) }'
    check_true "container tmpfs: dd stopped by No space left on device" \
      sh -c 'printf "%s" "$1" | grep -q "No space left"' _ "$(field .stderr)"
    size=$(field .stdout | awk 'NR == 1 { print $5 }')
    check_true "container tmpfs: the file stopped at the tmpfs' limit ($size bytes <= 64 MiB)" test "${size:-0}" -le 67108864 -a "${size:-0}" -gt 0
    check "container tmpfs: the record is the shell's exit (0, ls last)" "exited" "$(field .outcome)"
  fi

  # A signal storm at spectrum while the workload ignores SIGTERM/SIGINT/SIGHUP: the first is
  # forwarded, the second ends the tree; spectrum survives the rest and writes a record that
  # never says "exited 0".
  storm=storm_at
  hostile "$tier" "signal storm at spectrum" --timeout 30s -- ignore-term
  storm=""
  # In every tier (docs/tiers.md): wasm has no signals, so the first ends the run (signaled with
  # it); the vm and sandbox guests ignore the three, so the second ends the tree (SIGKILL).
  check_true "$tier storm: a whole record" test -n "$(field .outcome)"
  check_true "$tier storm: not 'exited 0' (status $status, $(field .outcome))" \
    test "$status" != 0 -a "$(field .outcome)" != exited
  check_true "$tier storm: spectrum ended it before the timeout" test "$(field .outcome)" != timed_out
  check "$tier storm: the status is the record's" "$status" \
    "$(field 'if .outcome == "signaled" then 128 + .signal else -1 end')"

  # One SIGINT at spectrum (Ctrl-C): forwarded, and the workload, which does not handle it, ends by
  # it; the record says so. (The container's workload is its namespace's init, which the kernel
  # spares a signal it has no handler for: tier_promises covers the container's forwarding.)
  if [ "$tier" != container ]; then
    storm=int_at
    hostile "$tier" "one SIGINT at spectrum" --timeout 30s -- spin
    storm=""
    check "$tier SIGINT: status 130" "130" "$status"
    check "$tier SIGINT: the record says signaled 2" "signaled 2" "$(field '"\(.outcome) \(.signal)"')"
  fi

  # SIGPIPE at spectrum, sent by hand while the workload sleeps: spectrum is not ended by it, and
  # the record is the workload's own exit.
  storm=pipe_at
  hostile "$tier" "SIGPIPE at spectrum" --timeout 30s -- sleep 1500
  storm=""
  check "$tier SIGPIPE: spectrum survives, the workload's exit 0" "0" "$status"
  check "$tier SIGPIPE: the record says exited" "exited" "$(field .outcome)"

  # The reader gone (`spectrum run ... | head -c1`). The workload's own writes to the closed pipe
  # are its business (it ignores SIGPIPE here and exits 7 on EPIPE); spectrum's exit status is the
  # workload's, and the record it could not print is said on stderr.
  run_args "$tier"
  "$spectrum" run --tier "$tier" --json "${opts[@]}" -- "$program" write 0 "$tag" 2>"$tmp/err" | head -c1 >/dev/null
  status=${PIPESTATUS[0]}
  check "$tier reader gone: spectrum exits with the workload's status (7: EPIPE)" "7" "$status"
  check_true "$tier reader gone: stderr says the record could not be written: $(head -c 300 "$tmp/err")" \
    grep -q "result record could not be written" "$tmp/err"
  # Captured output spectrum copies to a reader that is gone: lost, the status stays the workload's.
  "$spectrum" run --tier "$tier" --stdout capture "${opts[@]}" -- "$program" write 1048576 "$tag" \
    2>"$tmp/err" | head -c1 >/dev/null
  status=${PIPESTATUS[0]}
  check "$tier reader gone, captured stdout: spectrum exits 0 like the workload ($(head -c 300 "$tmp/err"))" \
    "0" "$status"

  # 10,000 files at once: opened (the tier allows it) or refused at the tier's descriptor limit,
  # and either way the record is the program's own exit.
  hostile "$tier" "10000 files opened at once" --timeout 60s -- files 10000 /
  check_true "$tier files: the program's own exit, 0 or 4 ($status: $(field .stdout))" \
    sh -c '[ "$1" = 0 ] || [ "$1" = 4 ]' _ "$status"
  check "$tier files: outcome" "exited" "$(field .outcome)"
done
for _ in $(seq 50); do [ -z "$(leak_census "$tag" "$pids_file" "$tmp" | awk '$2 != 0')" ] && break; sleep 0.1; done
check_no_leaks "after the hostile workloads" "$tag" "$pids_file" "$tmp"
finish
