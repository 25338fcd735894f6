#!/usr/bin/env bash
# Configures (once) and builds m3oe.cpp into ./build, or into the folder given
# as the first argument; extra arguments go to `meson setup`, e.g.
#   scripts/build.sh build-asan -Db_sanitize=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@"
elif [ $# -gt 0 ]; then
  meson configure "$dir" "$@"
fi
ninja -C "$dir"
