#!/bin/sh
# The expectations check can fail both ways, against the real container tier: an expected pass that
# diverges, an expected failure that now passes (XPASS), and a case missing from the file must each
# fail the run with a message that says to update the file.
# Usage: checker_test.sh RUN_PY SPECTRUM ROOTFS EXPECTATIONS WORK
set -eu
run=$1 spectrum=$2 rootfs=$3 expectations=$4 work=$5
mkdir -p "$work"
if ! "$spectrum" info | grep -q '^container  *usable'; then
  echo "skipped: the container tier is not usable here"
  exit 77
fi
status=0
check() {  # NAME EXPECTED-TEXT: the run must exit 1 and print the text
  if out=$(python3 "$run" --spectrum "$spectrum" --rootfs "$rootfs" --expectations "$work/exp" \
             --tier container --only "$only" --check --work "$work" 2>&1); then
    echo "FAIL $1: the check passed"; echo "$out"; status=1; return
  fi
  if ! printf '%s\n' "$out" | grep -q -- "$2" || ! printf '%s\n' "$out" | grep -q -- "--update"; then
    echo "FAIL $1: no '$2' and no advice to --update in:"; echo "$out"; status=1; return
  fi
  echo "ok $1: $(printf '%s\n' "$out" | grep -- "$2" | head -1 | sed 's/^ *//')"
}
only='^static/exit_code$'
# exit_code passes in the container tier; an expectations file that says it fails must fail the check.
sed 's|^\(static/exit_code  *\)pass|\1fail|' "$expectations" > "$work/exp"
grep -q '^static/exit_code  *fail' "$work/exp" || { echo "FAIL: could not rewrite the container column"; exit 1; }
check xpass "now PASSES (XPASS)"
# kill_self diverges in the container tier (pid 1); a file that says it passes must fail the check.
only='^static/kill_self$'
sed 's|^\(static/kill_self  *\)fail|\1pass|' "$expectations" > "$work/exp"
check divergence "expected to pass, diverges from native"
# A case the file does not name.
only='^static/exit_code$'
grep -v '^static/exit_code ' "$expectations" > "$work/exp"
check missing "no expectation"
# And with the committed file the same cases are as expected.
only='^static/(exit_code|kill_self)$'
cp "$expectations" "$work/exp"
if python3 "$run" --spectrum "$spectrum" --rootfs "$rootfs" --expectations "$work/exp" --tier container \
     --only "$only" --check --work "$work" >/dev/null 2>&1; then
  echo "ok committed expectations hold"
else
  echo "FAIL: the committed expectations do not hold for $only"; status=1
fi
exit $status
