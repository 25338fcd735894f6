#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz, and runs each for a bounded time
# on a copy of its seed corpus. Exits non-zero if any target crashes; ends
# with one "N passed, M failed" line (one test per target). docs/fuzzing.md.
#   scripts/fuzz.sh [seconds-per-target] [target ...]    default 60 s, all four
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(table movielens settings tensor_file)
dir=${FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (apt-get install clang libclang-rt-dev)"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi
if [ ! -f "$dir/build.ninja" ]; then
  CXX=clang++ meson setup "$dir" -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dcuda=disabled -Dbenchmarks=disabled -Dopenmp=disabled >/dev/null ||
    { echo "fuzz: meson setup $dir failed"; echo "0 passed, ${#targets[@]} failed"; exit 1; }
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("tests/fuzz/fuzz_$t"); done
ninja -C "$dir" -j"${FUZZ_JOBS:-2}" "${build_targets[@]}" ||
  { echo "fuzz: build failed"; echo "0 passed, ${#targets[@]} failed"; exit 1; }

passed=0; failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  # The committed seeds stay as they are; what the run finds goes to a work corpus.
  work="$dir/fuzz-corpus/$t"; artifacts="$dir/fuzz-crashes/$t/"
  mkdir -p "$work" "$artifacts"
  log="$dir/fuzz-$t.log"
  echo "== fuzz_$t: ${seconds}s (log $log)"
  "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" -print_final_stats=1 "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "   no crash: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs"
  else
    failed=$((failed + 1))
    echo "   CRASH (exit $rc): reproduce with $dir/tests/fuzz/fuzz_$t $artifacts<file>"
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal|uncaught' "$log" | head -5 | sed 's/^/   /'
    ls "$artifacts" | head -3 | sed 's/^/   /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
