#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite; ends with `N passed, M failed`.
#   scripts/test.sh                     the normal (release) build in ./build
#   scripts/test.sh DIR [meson args]    another build folder and configuration
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
dir=${1:-build}
bash scripts/build.sh "$@" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$dir" --print-errorlogs --num-processes 2
rc=$?
# meson writes its counts to the test log; turn them into the one summary line.
python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: fail += 1
print(f"{ok} passed, {fail} failed" + (f", {skip} skipped" if skip else ""))
PY
exit $rc
