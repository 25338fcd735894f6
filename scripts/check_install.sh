#!/usr/bin/env bash
# Checks the library as its users get it (docs/library.md), outside the build:
#   1. `meson install` into a temporary prefix: headers, both libraries (real
#      archives), m3oe.pc and m3oe-f64.pc, the m3oe program;
#   2. an out-of-tree program compiled with the one-line pkg-config command,
#      without -march and under AddressSanitizer, against each precision;
#   3. the same program as a meson project that uses m3oe.cpp as a subproject.
# Each check prints PASS or FAIL; the script ends with `N passed, M failed`.
#   scripts/check_install.sh [WORKDIR]     (default: a new folder under /tmp)
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/m3oe-install.XXXXXX)}
mkdir -p "$work"
prefix="$work/prefix"
passed=0; failed=0
check() {  # check NAME COMMAND...: runs the command, logs to $work/NAME.log
  local name=$1; shift
  if "$@" >"$work/$name.log" 2>&1; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name (log: $work/$name.log)"; tail -n 20 "$work/$name.log"; failed=$((failed + 1))
  fi
}

# 1. Install. Only the installed targets are built (the library twice, the
# command); the tests, examples and benchmarks are not needed here.
install_prefix() {
  meson setup "$work/build" "$src" --prefix="$prefix" -Dbenchmarks=disabled -Dcuda=disabled &&
    ninja -C "$work/build" libm3oe_f32.a libm3oe_f64.a m3oe &&
    meson install -C "$work/build" --no-rebuild --quiet &&
    pcdir=$(dirname "$(find "$prefix" -name m3oe.pc | head -n 1)") &&
    test -f "$pcdir/m3oe-f64.pc" &&
    test -f "$prefix/include/m3oe/autograd/ops.hpp" &&
    test ! -e "$prefix/include/m3oe/autograd/backend/simd.hpp" &&
    for lib in m3oe_f32 m3oe_f64; do
      a=$(find "$prefix" -name "lib$lib.a" | head -n 1)
      # A thin archive starts with "!<thin>"; a real one with "!<arch>".
      test -n "$a" && head -c 8 "$a" | grep -q '^!<arch>' || { echo "lib$lib.a missing or thin"; exit 1; }
    done
}
check install install_prefix
pcdir=$(dirname "$(find "$prefix" -name m3oe.pc 2>/dev/null | head -n 1)")
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

# 2. The one-line compile, as docs/library.md gives it, plus ASan; no -march.
for pc in m3oe m3oe-f64; do
  one_line() {
    c++ -std=c++20 -O2 -fsanitize=address "$src/tests/library/user_program.cpp" \
      $(pkg-config --cflags --libs "$1") -o "$work/user_$1" && "$work/user_$1"
  }
  check "pkg-config_$pc" one_line "$pc"
done

# 3. A meson project with m3oe.cpp in subprojects/, nothing else added.
subproject_build() {
  local proj="$work/consumer"
  mkdir -p "$proj/subprojects"
  ln -sfn "$src" "$proj/subprojects/m3oe"
  cp "$src/tests/library/user_program.cpp" "$proj/"
  cat >"$proj/meson.build" <<'MESON'
project('consumer', 'cpp', default_options : ['cpp_std=c++20', 'buildtype=release'])
m3oe_dep = dependency('m3oe', fallback : ['m3oe', 'm3oe_dep'])
executable('user_program', 'user_program.cpp', dependencies : m3oe_dep,
  cpp_args : ['-fsanitize=address'], link_args : ['-fsanitize=address'])
MESON
  # --force-fallback-for: use the subproject even where an m3oe.pc is found.
  meson setup "$proj/build" "$proj" --force-fallback-for=m3oe -Dm3oe:cuda=disabled \
    -Dm3oe:benchmarks=disabled &&
    ninja -C "$proj/build" user_program && "$proj/build/user_program"
}
check subproject subproject_build

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
