#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages m3oe.cpp builds with. Idempotent: it
# asks apt only for the packages that are missing, and does nothing when all
# are there. Uses sudo when not run as root.
set -euo pipefail

packages=(meson ninja-build g++ pkg-config libeigen3-dev libxsimd-dev doctest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev)
# Optional: OpenBLAS lets the benchmarks compare against its sgemm.
packages+=(libopenblas-dev)
# The fuzz targets (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes.
packages+=(clang libclang-rt-dev)

# `bootstrap.sh --report`: only the optional tools of `m3oe report` and its
# test (docs/report.md); training and the other tests never need them.
if [ "${1:-}" = "--report" ]; then packages=(python3-matplotlib chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
