#!/usr/bin/env bash
# m3oe report end to end (docs/report.md).
#   test_report.sh M3OE full     a tiny run and a tiny comparison, their reports opened in
#                                headless Chromium: every figure shown at its size, no errors;
#                                a page with a broken figure is caught. Skips (77) without
#                                matplotlib in /usr/bin/python3 or without chromium.
#   test_report.sh M3OE missing  without matplotlib, m3oe report and report.py fail and
#                                say what to install (matplotlib hidden by a fake package).
set -uo pipefail
m3oe=$1 mode=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/m3oe-test-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tiny=(--synthetic --synthetic-rows 3000 --domain-dim 32 --hidden-dim 16 --expert-dim 8 --embedding-dim 4
      --batch 256 --epochs 2 --threads 1 --quiet)

if [ "$mode" = missing ]; then
  [ -x /usr/bin/python3 ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
  mkdir -p "$tmp/fake/matplotlib"
  echo 'raise ImportError("hidden by tests/report/test_report.sh")' > "$tmp/fake/matplotlib/__init__.py"
  "$m3oe" train "${tiny[@]}" --out "$tmp/run" > /dev/null || fail "training without the report tools failed"
  PYTHONPATH="$tmp/fake" "$m3oe" report --run "$tmp/run" 2> "$tmp/err"; rc=$?
  [ "$rc" -eq 3 ] || fail "m3oe report without matplotlib exited $rc, expected 3"
  grep -q "apt-get install -y --no-install-recommends python3-matplotlib" "$tmp/err" || fail "no install line: $(cat "$tmp/err")"
  PYTHONPATH="$tmp/fake" /usr/bin/python3 "$src/scripts/report.py" "$tmp/run" 2> "$tmp/err2" && fail "report.py succeeded"
  grep -q "apt-get install -y --no-install-recommends python3-matplotlib" "$tmp/err2" || fail "no install line: $(cat "$tmp/err2")"
  [ ! -e "$tmp/run/report/index.html" ] || fail "a report was written"
  echo "OK: without matplotlib, training works and the report says what to install"
  exit 0
fi

/usr/bin/python3 -c 'import matplotlib' 2> /dev/null ||
  { echo "SKIP: /usr/bin/python3 has no matplotlib (apt-get install -y --no-install-recommends python3-matplotlib)"; exit 77; }
chromium=$(command -v chromium || command -v chromium-browser) ||
  { echo "SKIP: no chromium (apt-get install -y --no-install-recommends chromium)"; exit 77; }

# The page writes its own check into <pre id="check"> at the load event.
check_page() {  # page expected-prefix
  local out
  out=$(HOME="$tmp" timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$tmp/profile" --virtual-time-budget=10000 --dump-dom "file://$1" 2> "$tmp/chromium.log" |
        grep -o '<pre id="check">[^<]*</pre>')
  echo "$1: ${out:-no check result}"
  [[ "$out" == "<pre id=\"check\">$2"* ]]
}

"$m3oe" train "${tiny[@]}" --out "$tmp/run" > /dev/null || fail "training failed"
"$m3oe" report --run "$tmp/run" || fail "m3oe report of a run failed"
for f in training fusion gates test_cells; do
  [ -s "$tmp/run/report/$f.png" ] || fail "no $f.png"
done
[ -s "$tmp/run/gates-test.csv" ] || fail "the report did not write gates-test.csv"
check_page "$tmp/run/report/index.html" "OK: 4 figures" || fail "the run's page did not pass its check"

"$m3oe" compare --models m3oe,mmoe-mdmt --seeds 1,2 --out "$tmp/cmp" "${tiny[@]}" > /dev/null || fail "compare failed"
"$m3oe" report --run "$tmp/cmp" || fail "m3oe report of a comparison failed"
check_page "$tmp/cmp/report/index.html" "OK: 3 figures" || fail "the comparison's page did not pass its check"

# The check can fail: a figure that does not decode.
sed '0,/base64,iVBOR/s//base64,AAAA/' "$tmp/run/report/index.html" > "$tmp/broken.html"
check_page "$tmp/broken.html" "FAIL" || fail "a broken figure was not caught"
echo "OK: both pages load in headless Chromium with every figure shown"
