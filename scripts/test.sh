#!/usr/bin/env bash
# The test command: installs dependencies (apt-get, idempotent), builds with all
# cores and runs every test (unit, conformance, end-to-end, shared cases, interop).
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   ASan+UBSan build in build-sanitize/
# Extra arguments after the optional --sanitize go to ctest (e.g. -R parser).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=()
dir=build
if [ "${1:-}" = --sanitize ]; then
  mode=(--sanitize); dir=build-sanitize; shift
fi
bash scripts/deps.sh
bash scripts/build.sh "${mode[@]}"
(cd "$dir" && ctest --output-on-failure -j "$(nproc)" "$@")
# The bundled example end to end (needs apt's mirror and the npm registry; about
# 3 minutes the first time, under a minute once the base images exist). It runs
# after the whole suite, not when ctest arguments select a subset, and
# MKIMAGE_RUN_DEMO=0 skips it.
if [ $# -eq 0 ] && [ "${MKIMAGE_RUN_DEMO:-1}" != 0 ]; then
  bash scripts/demo.sh
fi
