#!/bin/sh
# The HTML report in a real browser: a small bench (native, wasm, and the sandbox tier shown as
# not available) written with --html, opened in Debian's headless Chromium. Checks that every SVG
# chart is drawn (the page's own render check, read back from the DOM) and that the browser logged
# no console error; keeps the screenshot in OUT_DIR/html_chromium/report.png.
# Usage: html_chromium_test.sh SPECTRUM SOURCE_DIR OUT_DIR
set -eu
spectrum=$1 src=$2 out=$3/html_chromium
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed (scripts/deps.txt)"; exit 77; }
command -v clang-16 >/dev/null || { echo "SKIP: clang-16 (wasm32-wasi) is not installed"; exit 77; }
rm -rf "$out" && mkdir -p "$out/profile"
"$src/examples/build" "$out/examples" sha256 >/dev/null
fail() { echo "FAIL: $*"; exit 1; }

"$spectrum" bench --tiers native,wasm,sandbox --runs 2 --warmup 0 --html "$out/report.html" \
  -- "$out/examples/native/sha256" 1 >"$out/table.txt" 2>/dev/null || fail "bench exited $?"

# Chromium refuses to run as root without --no-sandbox; a private profile keeps runs apart.
flags="--headless --disable-gpu --hide-scrollbars --user-data-dir=$out/profile --no-first-run"
[ "$(id -u)" = 0 ] && flags="$flags --no-sandbox"
page="file://$out/report.html"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "$page" \
  >"$out/dom.html" 2>"$out/console.log" || fail "chromium --dump-dom exited $? ($(tail -n 3 "$out/console.log"))"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --window-size=1100,2000 --screenshot="$out/report.png" "$page" \
  >/dev/null 2>>"$out/screenshot.log" || fail "chromium --screenshot exited $?"
[ -s "$out/report.png" ] || fail "no screenshot"

marker=$(grep -o 'charts-rendered:[0-9]*/[0-9]*' "$out/dom.html" || true)
[ "$marker" = "charts-rendered:5/5" ] || fail "charts not all drawn: '${marker:-no render check in the DOM}'"
# The page's console: any message at all from the page is an error or a warning we did not write.
if grep -E 'CONSOLE|Uncaught' "$out/console.log" >/dev/null; then
  fail "console: $(grep -E 'CONSOLE|Uncaught' "$out/console.log" | head -n 3)"
fi
grep -q 'not available: ' "$out/dom.html" || fail "the sandbox tier's row is missing"
echo "PASS (screenshot: $out/report.png)"
