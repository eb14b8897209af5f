#!/bin/sh
# A small bench on the native and wasm tiers, through the real binary: the JSON's times are
# positive, native's ratio to itself is 1, the output hashes agree; a workload whose output
# differs between tiers is an error; bad requests are one-line errors with status 125.
# Usage: bench_json_test.sh SPECTRUM SOURCE_DIR OUT_DIR
set -eu
spectrum=$1 src=$2 out=$3/bench_json
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
command -v clang-16 >/dev/null || { echo "SKIP: clang-16 (wasm32-wasi) is not installed"; exit 77; }
rm -rf "$out" && mkdir -p "$out/tmp"
export TMPDIR="$out/tmp"  # the bench's scratch folders go here: checked empty at the end
"$src/examples/build" "$out/examples" sha256 hello >/dev/null
fail() { echo "FAIL: $*"; exit 1; }

"$spectrum" bench --tiers native,wasm --runs 2 --warmup 0 --json "$out/bench.json" -- "$out/examples/native/sha256" 2 \
  >"$out/table.txt" 2>"$out/progress.txt" || fail "bench exited $? ($(cat "$out/progress.txt"))"
j="$out/bench.json"
jq -e '.ok == true and (.errors | length) == 0' "$j" >/dev/null || fail "not ok: $(jq -c .errors "$j")"
jq -e '[.tiers[].tier] == ["native", "wasm"] and all(.tiers[]; .state == "ok")' "$j" >/dev/null || fail "tiers"
jq -e 'all(.tiers[]; (.runs | length) == 2)' "$j" >/dev/null || fail "two runs per tier"
jq -e 'all(.tiers[].runs[]; .wall_seconds > 0 and .cpu_seconds > 0 and .peak_memory_bytes > 0)' "$j" >/dev/null ||
  fail "a time or peak is not positive"
jq -e 'all(.tiers[]; .wall_seconds.median > 0 and .cpu_seconds.median > 0)' "$j" >/dev/null || fail "medians"
jq -e '.tiers[0] | .wall_seconds.ratio_to_native == 1 and .cpu_seconds.ratio_to_native == 1 and
       .peak_memory_bytes.ratio_to_native == 1' "$j" >/dev/null || fail "native's ratio to itself is not 1"
jq -e '.tiers[1].wall_seconds.ratio_to_native > 0' "$j" >/dev/null || fail "wasm has no ratio"
jq -e '[.tiers[].runs[].output_hash] | unique | length == 1' "$j" >/dev/null || fail "output hashes differ"
jq -e '[.tiers[].runs[].status] | unique == [0]' "$j" >/dev/null || fail "statuses"
# The isolation probe ran in both, and the verdicts differ where the tiers differ.
jq -e '.tiers[0].isolation | .measured and .shares_host_kernel and .reads_host_files and .writes_outside_sandbox' "$j" \
  >/dev/null || fail "native's isolation: $(jq -c '.tiers[0].isolation' "$j")"
jq -e '.tiers[1].isolation | .measured and (.shares_host_kernel | not) and (.reads_host_files | not) and
       (.writes_outside_sandbox | not) and .syscalls_made == 0' "$j" >/dev/null ||
  fail "wasm's isolation: $(jq -c '.tiers[1].isolation' "$j")"
grep -q '^native .*1.00x' "$out/table.txt" || fail "table: $(cat "$out/table.txt")"
# wasm runs as deployed: compiled once before the runs (when spectrum-llvm is built beside
# spectrum), interpreted otherwise, and the row says which and why.
if [ -x "$(dirname "$spectrum")/spectrum-llvm" ]; then
  jq -e '.tiers[1].engine == "compiled" and .tiers[1].compile_seconds > 0' "$j" >/dev/null ||
    fail "wasm was not compiled: $(jq -c '.tiers[1] | {engine, compile_seconds, engine_note}' "$j")"
  grep -q '^wasm ran as: compiled (compiled once before the runs: ' "$out/table.txt" || fail "table: no engine line"
else
  jq -e '.tiers[1].engine == "interpreted" and (.tiers[1].engine_note | test("not compiled"))' "$j" >/dev/null ||
    fail "wasm's engine: $(jq -c '.tiers[1] | {engine, engine_note}' "$j")"
fi
# With the cache off, the runs interpret and the row says so.
SPECTRUM_WASM_CACHE=off "$spectrum" bench --tiers wasm --runs 1 --warmup 0 --json "$out/off.json" \
  -- "$out/examples/native/sha256" 1 >/dev/null 2>&1 || fail "bench with the cache off: $?"
jq -e '.tiers[0].engine == "interpreted" and .tiers[0].engine_note == "not compiled: SPECTRUM_WASM_CACHE=off"' \
  "$out/off.json" >/dev/null || fail "cache off: $(jq -c '.tiers[0] | {engine, engine_note}' "$out/off.json")"

# Outputs that differ between tiers are an error, not averaged: hello.wasm in place of sha256.
if "$spectrum" bench --tiers native,wasm --runs 1 --warmup 0 --wasm "$out/examples/wasm/hello.wasm" \
  --json "$out/mismatch.json" -- "$out/examples/native/sha256" 1 >/dev/null 2>&1; then
  fail "a differing output was accepted"
fi
jq -e '.ok == false and .tiers[1].state == "failed" and (.tiers[1].reason | test("output differs from native"))' \
  "$out/mismatch.json" >/dev/null || fail "mismatch not reported: $(jq -c '.tiers[1]' "$out/mismatch.json")"

# A tier not in this build is shown with its reason, never hidden.
"$spectrum" bench --tiers native,sandbox --runs 1 --warmup 0 --json - -- "$out/examples/native/hello" >"$out/sandbox.json" 2>/dev/null ||
  fail "an unavailable tier failed the bench"
jq -e '.tiers[1].tier == "sandbox" and .tiers[1].state == "unavailable" and (.tiers[1].reason | length) > 0' \
  "$out/sandbox.json" >/dev/null || fail "sandbox row: $(jq -c '.tiers[1]' "$out/sandbox.json")"

# Bad requests: status 125 and one line naming what is wrong.
expect_error() {
  pattern=$1
  shift
  set +e
  "$spectrum" bench "$@" >/dev/null 2>"$out/err.txt"
  status=$?
  set -e
  [ "$status" -eq 125 ] || fail "'$*' exited $status, not 125"
  [ "$(wc -l <"$out/err.txt")" -eq 1 ] || fail "'$*' printed more than one line: $(cat "$out/err.txt")"
  grep -q -e "$pattern" "$out/err.txt" || fail "'$*': $(cat "$out/err.txt")"
}
expect_error "unknown tier 'warp'" --tiers native,warp -- /bin/true
expect_error "runs 'x'" --runs x -- /bin/true
expect_error "no program given" --runs 1
expect_error "no such file" --wasm /nonexistent.wasm -- /bin/true
expect_error "not a directory" --rootfs /nonexistent -- /bin/true
expect_error "unknown option '--colour'" --colour -- /bin/true

# Interrupted (SIGTERM to the bench): the running workload is stopped, the bench exits 125 and
# removes its scratch folder.
"$spectrum" bench --tiers native --runs 3 --warmup 0 -- /bin/sleep 37.25 >/dev/null 2>&1 &
bench_pid=$!
# Signalled once the run is under way (its workload exists), not at a guessed moment.
tries=0
until pgrep -f "^/bin/sleep 37[.]25" >/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 200 ] || fail "the bench's run never started"
  sleep 0.05
done
kill -TERM "$bench_pid"
set +e
wait "$bench_pid"
status=$?
set -e
[ "$status" -eq 125 ] || fail "interrupted bench exited $status, not 125"
sleep 0.2
if pgrep -f "^/bin/sleep 37[.]25" >/dev/null; then fail "the interrupted run's workload is still running"; fi

# Nothing left behind.
[ -z "$(ls -A "$TMPDIR")" ] || fail "left behind in TMPDIR: $(ls -A "$TMPDIR")"
echo "PASS"
