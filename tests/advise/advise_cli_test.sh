#!/bin/sh
# spectrum advise through the real binaries (spectrum execs spectrum-advise): the sample system on
# built-in figures and on a bench's, --json, --k8s, --html, and one-line errors for bad input.
# Usage: advise_cli_test.sh SPECTRUM SOURCE_DIR OUT_DIR
set -eu
spectrum=$1 src=$2 out=$3/advise_cli
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
rm -rf "$out" && mkdir -p "$out"
fail() { echo "FAIL: $*"; exit 1; }
system="$src/examples/system.yaml"

"$spectrum" advise "$system" >"$out/defaults.txt" || fail "advise exited $?"
grep -q "built-in defaults for native, wasm, container, sandbox, vm" "$out/defaults.txt" ||
  fail "does not say the figures are defaults: $(head -n 1 "$out/defaults.txt")"
for c in ledger-db api edge-filter build-runner plugin-runner; do
  grep -q "^$c (.*) -> [a-z]" "$out/defaults.txt" || fail "no placement for $c"
done

# Measured figures from a bench replace the defaults, and the output says which.
"$spectrum" bench --tiers native,wasm --runs 1 --warmup 0 --json "$out/bench.json" -- /bin/true >/dev/null 2>&1 ||
  fail "bench for --from exited $?"
"$spectrum" advise "$system" --from "$out/bench.json" --json >"$out/placement.json" || fail "advise --from exited $?"
jq -e '.figures.native.source == "measured" and .figures.vm.source == "default" and (.components | length) == 5' \
  "$out/placement.json" >/dev/null || fail "figures: $(jq -c .figures "$out/placement.json")"
jq -e 'all(.components[]; (.candidates | length) == 5 and .candidates[0].tier == .tier)' "$out/placement.json" \
  >/dev/null || fail "every tier listed, the chosen first"
jq -e 'all(.components[].candidates[]; (.tier == .tier) and ((.ruled_out | not) or any(.findings[]; .rules_out)))' \
  "$out/placement.json" >/dev/null || fail "a ruled-out tier without the rule that ruled it out"
jq -e '[.components[] | select(.name == "edge-filter")][0].tier == "wasm"' "$out/placement.json" >/dev/null ||
  fail "edge-filter not on wasm"
jq -e '[.components[] | select(.name == "ledger-db")][0].tier == "native"' "$out/placement.json" >/dev/null ||
  fail "ledger-db not native"
# Hosts without hardware virtualization: the sandbox kernel without KVM, never the vm.
jq -e '[.components[] | select(.name == "plugin-runner")][0].tier == "sandbox"' "$out/placement.json" >/dev/null ||
  fail "plugin-runner not on sandbox"

"$spectrum" advise "$system" --from "$out/bench.json" --k8s "$out/k8s" --html "$out/report.html" >/dev/null ||
  fail "advise --k8s --html exited $?"
for f in runtimeclasses ledger-db api edge-filter build-runner; do
  [ -s "$out/k8s/$f.yaml" ] || fail "no $f.yaml"
done
grep -q "runtimeClassName: spectrum-wasm" "$out/k8s/edge-filter.yaml" || fail "edge-filter's runtime class"
grep -q "<h2>Placement</h2>" "$out/report.html" || fail "the page has no placement"

# --measure benches the file's `bench:` workload on the spot (here a trivial one, native only:
# the other tiers are not given its form and keep their defaults).
printf 'components:\n  - name: a\n    trust: trusted\nbench: {program: /bin/true}\n' >"$out/measure.yaml"
"$spectrum" advise "$out/measure.yaml" --measure --json >"$out/measure.json" 2>/dev/null || fail "--measure exited $?"
jq -e '.figures.native.source == "measured" and .figures_from == "measured now" and .components[0].tier == "native"' \
  "$out/measure.json" >/dev/null || fail "--measure: $(jq -c .figures.native "$out/measure.json")"

expect_error() {
  pattern=$1
  shift
  set +e
  "$spectrum" advise "$@" >/dev/null 2>"$out/err.txt"
  status=$?
  set -e
  [ "$status" -eq 125 ] || fail "'$*' exited $status, not 125 ($(cat "$out/err.txt"))"
  [ "$(wc -l <"$out/err.txt")" -eq 1 ] || fail "'$*' printed more than one line: $(cat "$out/err.txt")"
  grep -q -e "$pattern" "$out/err.txt" || fail "'$*': $(cat "$out/err.txt")"
}
printf 'components:\n  - name: a\n    trust: sometimes\n' >"$out/bad.yaml"
printf '{"tiers": 3}' >"$out/bad.json"
expect_error "/nonexistent.yaml" /nonexistent.yaml
expect_error "bad.yaml:3: trust: 'sometimes'" "$out/bad.yaml"
expect_error "not a spectrum bench report" "$system" --from "$out/bad.json"
expect_error "not valid JSON" "$system" --from "$system"
expect_error "--html needs figures" "$system" --html "$out/x.html"
expect_error "unknown option" "$system" --colour
expect_error "expected one system file"
expect_error "exclude each other" "$system" --measure --from "$out/bench.json"
printf 'components:\n  - name: a\n' >"$out/nobench.yaml"
expect_error "needs a 'bench:' section" "$out/nobench.yaml" --measure
# advise lives in spectrum-advise so that yaml-cpp's <iostream> stays off spectrum's start
# (docs/architecture.md "Start-up cost"): no iostream initialiser may be linked into spectrum.
if command -v nm >/dev/null && nm "$spectrum" 2>/dev/null | grep -q '_ZNSt8ios_base4InitC1Ev'; then
  fail "spectrum links std::ios_base::Init (<iostream>): its start-up pays for it on every run"
fi
echo "PASS"
