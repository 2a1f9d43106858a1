#!/usr/bin/env bash
# Configures and builds mkimage into build/ (or build-sanitize/ with --sanitize:
# ASan + UBSan, MKIMAGE_SANITIZE=ON). Each directory is configured with the
# option set explicitly, so a build directory never serves the other kind.
# MKIMAGE_BUILD_JOBS: parallel jobs (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=(-DMKIMAGE_SANITIZE=OFF)
if [ "${1:-}" = --sanitize ]; then
  dir=build-sanitize
  args=(-DMKIMAGE_SANITIZE=ON)
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" >/dev/null
cmake --build "$dir" -j "${MKIMAGE_BUILD_JOBS:-$(nproc)}"
