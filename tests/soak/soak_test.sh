#!/bin/bash
# Soak and faults: per usable tier, RUNS runs back to back, then RUNS with PARALLEL at a time, of
# a mix of workloads (exits, crashes, timeouts, SIGTERM-ignoring spinners, out-of-memory kills,
# fork bombs under --pids) and SIGKILLs of spectrum itself at random moments (before, during and
# after the workload). Every record must be right (never "exited 0" for a killed run); every 100
# runs and at the end, nothing of the test's runs may be left (tests/soak/lib.sh: leak_census);
# spectrum's descriptor count and resident memory, sampled mid-run, must stay flat.
# Usage: soak_test.sh SPECTRUM REPO_DIR LOAD RUNS PARALLEL [TIER...]
# Prints one figures line per tier: runs, faults injected, SIGKILLs, stale items collected, leaks.
set -u
spectrum=$(readlink -f "$1")
repo=$2
load=$(readlink -f "$3")
runs=$4
parallel=$5
shift 5
. "$repo/tests/soak/lib.sh" || exit 1
soak_setup soak "$spectrum" "$repo" "$load" "$@"
RANDOM=16  # the same mix of faults every time

# run_one TIER I KIND DELAY_MS: one run, checked; prints "ok KIND" or "FAIL ...", and a
# "sample RSS_KB FDS" line for a sampled run.
run_one() {
  local tier=$1 i=$2 kind=$3 delay=$4 program opts=() args expect_status expect_outcome
  case $tier in
    native) program=$load ;;
    wasm) program=$tmp/load.wasm ;;
    *) program=/load; opts=(--rootfs "$tmp/rootfs") ;;
  esac
  case $kind in
    exit) args=(exit $((i % 100))); expect_status=$((i % 100)); expect_outcome=exited ;;
    crash) args=(crash); expect_status=139; expect_outcome=signaled ;;
    timeout) args=(spin); opts+=(--timeout 200ms); expect_status=124; expect_outcome=timed_out ;;
    ignore-term) args=(ignore-term); opts+=(--timeout 200ms); expect_status=124; expect_outcome=timed_out ;;
    oom)
      args=(alloc 256); opts+=(--memory 32M)
      case $tier in
        # Their allocator refuses the allocation, as a kernel without overcommit would (docs/tiers.md).
        wasm | vm | sandbox) expect_status=3; expect_outcome=exited ;;
        *) expect_status=137; expect_outcome=out_of_memory ;;
      esac ;;
    forkbomb) args=(forkbomb); opts+=(--pids 16 --timeout 20s); expect_status=5; expect_outcome=exited ;;
    sample) args=(sleep 1500); expect_status=0; expect_outcome=exited ;;
    kill-during) args=(spin); opts+=(--timeout 20s) ;;
    kill-early | kill-late) args=(sleep $((delay / 2))) ;;
  esac
  local rec=$tmp/rec.$tier.$i err=$tmp/err.$tier.$i status
  "$spectrum" run --tier "$tier" --json --stdout capture --stderr capture "${opts[@]}" -- \
    "$program" "${args[@]}" "$tag" >"$rec" 2>"$err" &
  local pid=$!
  echo "$pid" >>"$pids_file"
  case $kind in
    kill-*)
      sleep "$(printf '0.%03d' "$delay")"
      kill -9 "$pid" 2>/dev/null ;;
    sample)
      sleep 0.3
      local rss fds
      rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
      fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
      # Only a sample of spectrum itself, alive throughout, counts: on a loaded host the run may
      # not have reached spectrum yet, or be exiting (no descriptors left) when it is read.
      # (A process that exits after the first read has no VmRSS by the second.)
      if [ -n "$rss" ] && grep -qx spectrum "/proc/$pid/comm" 2>/dev/null &&
        grep -q '^VmRSS' "/proc/$pid/status" 2>/dev/null; then
        echo "sample $rss $fds"
      fi ;;
  esac
  { wait "$pid"; } 2>/dev/null  # no "Killed" line from the shell for the runs killed on purpose
  status=$?
  local outcome
  outcome=$(jq -r .outcome "$rec" 2>/dev/null)
  case $kind in
    kill-*)
      # Killed: no record at all. Finished before the kill: the record of what ran, exactly (the
      # kill may still land between the record's write and spectrum's exit: 137, record whole).
      if [ "$status" = 137 ] && [ ! -s "$rec" ]; then
        echo "ok $kind killed"
        rm -f "$rec" "$err"
        return
      fi
      case $kind in kill-during) expect_status=124; expect_outcome=timed_out ;; *) expect_status=0; expect_outcome=exited ;; esac
      [ "$status" = 137 ] && status=$(jq -r .status "$rec" 2>/dev/null) ;;
  esac
  if [ "$status" = "$expect_status" ] && [ "$outcome" = "$expect_outcome" ]; then
    echo "ok $kind"
  else
    echo "FAIL $tier run $i ($kind): expected $expect_status/$expect_outcome, got $status/$outcome: $(head -c 300 "$rec") $(head -c 300 "$err")"
  fi
  rm -f "$rec" "$err"
}

# The mix: one kind per run, drawn from the seeded generator.
pick_kind() {
  local tier=$1 r=$((RANDOM % 20))
  case $r in
    0 | 1 | 2 | 3 | 4 | 5) echo exit ;;
    6 | 7) echo crash ;;
    8 | 9) echo timeout ;;
    10) echo ignore-term ;;
    11 | 12) echo oom ;;
    13) [ "$tier" = wasm ] && echo exit || echo forkbomb ;;
    14 | 15) echo kill-during ;;
    16) echo kill-early ;;
    17) echo kill-late ;;
    *) echo exit ;;
  esac
}

# Waits for the killed runs' remains to go (their workloads die with spectrum, through
# PR_SET_PDEATHSIG or a pid namespace), then takes the census. What a SIGKILLed spectrum left for
# the next run to collect (its cgroups: core/stale_cgroups) is collected by one more run that
# makes a group, and counted apart.
census() {  # census TIER WHEN
  local tier=$1 when=$2 dirty
  for _ in $(seq 50); do
    dirty=$(leak_census "$tag" "$pids_file" "$tmp" | awk '$2 != 0')
    [ -z "$dirty" ] && break
    sleep 0.1
  done
  if [ -n "$dirty" ]; then
    collected=$((collected + $(echo "$dirty" | awk '{ s += $2 } END { print s }')))
    collected_kinds="$collected_kinds $(echo "$dirty" | awk '{ printf "%s:%s ", $1, $2 }')"
    run_one "$tier" 0 exit 0 >/dev/null  # any run collects stale groups; --pids makes one
    local sweep_program=$load
    case $tier in native) ;; wasm) sweep_program=$tmp/load.wasm ;; *) sweep_program=/load ;; esac
    local sweep_opts=()
    [ "$tier" = native ] || [ "$tier" = container ] && sweep_opts=(--pids 100)
    case $tier in container | vm | sandbox) sweep_opts+=(--rootfs "$tmp/rootfs") ;; esac
    "$spectrum" run --tier "$tier" "${sweep_opts[@]}" -- "$sweep_program" exit 0 >/dev/null 2>&1
    for _ in $(seq 50); do
      dirty=$(leak_census "$tag" "$pids_file" "$tmp" | awk '$2 != 0')
      [ -z "$dirty" ] && break
      sleep 0.1
    done
  fi
  if [ -n "$dirty" ]; then
    leaks=$((leaks + 1))
    echo "FAIL $tier: left $when: $(echo $dirty)"
    failures=$((failures + 1))
  fi
}

for tier in $tiers; do
  faults=0 kills=0 collected=0 collected_kinds='' leaks=0 bad=0 samples=()
  start=$SECONDS
  tally() {  # reads run_one's lines
    local line
    while read -r line; do
      case $line in
        ok\ kill-*) kills=$((kills + 1)); faults=$((faults + 1)) ;;
        ok\ exit | ok\ sample) ;;
        ok\ *) faults=$((faults + 1)) ;;
        sample\ *) samples+=("${line#sample }") ;;
        FAIL*) echo "$line"; bad=$((bad + 1)); failures=$((failures + 1)) ;;
      esac
    done
  }
  for ((i = 1; i <= runs; i++)); do
    kind=$(pick_kind "$tier")
    ((i % 10 == 0)) && kind=sample
    delay=$((RANDOM % 400))
    tally < <(run_one "$tier" "$i" "$kind" "$delay")
    ((i % 100 == 0)) && census "$tier" "after $i runs back to back"
  done
  census "$tier" "after the runs back to back"
  # PARALLEL at a time: each run's lines go to its own file, read once all are done.
  for ((i = 1; i <= runs; i++)); do
    kind=$(pick_kind "$tier")
    delay=$((RANDOM % 400))
    run_one "$tier" "$((runs + i))" "$kind" "$delay" >"$tmp/out.$i" &
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n; done
  done
  wait
  for ((i = 1; i <= runs; i++)); do tally <"$tmp/out.$i"; done
  rm -f "$tmp"/out.*
  census "$tier" "after the parallel runs"
  # Flat: every sampled run's spectrum had the same descriptors and about the same memory.
  if ((${#samples[@]} > 1)); then
    fds=$(printf '%s\n' "${samples[@]}" | awk '{ print $2 }' | sort -u | tr '\n' ' ')
    rss=$(printf '%s\n' "${samples[@]}" | awk 'NR == 1 || $1 < lo { lo = $1 } $1 > hi { hi = $1 } END { print lo, hi }')
    check "$tier: spectrum's descriptor count flat over ${#samples[@]} samples" "1" "$(echo $fds | wc -w)"
    check_true "$tier: spectrum's resident memory flat (min/max KiB $rss)" \
      awk -v r="$rss" 'BEGIN { split(r, a, " "); exit !(a[2] <= a[1] + 2048) }'
  fi
  echo "figures $tier: runs $((2 * runs)) (${runs} back to back, ${runs} ${parallel} at a time) faults $faults" \
    "(spectrum SIGKILLed $kills) wrong-records $bad stale-collected $collected (${collected_kinds:-none} ) leaks $leaks" \
    "fds ${fds:-?} rss-kib ${rss:-?} seconds $((SECONDS - start))"
done
finish
