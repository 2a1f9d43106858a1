#!/usr/bin/env bash
# Configures and builds mkimage into build/ (or build-sanitize/ with --sanitize).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=()
if [ "${1:-}" = --sanitize ]; then
  dir=build-sanitize
  args+=(-DMKIMAGE_SANITIZE=ON)
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
