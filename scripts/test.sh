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
# The end-to-end demo (needs apt's mirror and the npm registry, ~10 minutes):
# opt-in with MKIMAGE_RUN_DEMO=1 until `mkimage run` has end-to-end coverage.
if [ $# -eq 0 ] && [ "${MKIMAGE_RUN_DEMO:-}" = 1 ]; then
  bash scripts/demo.sh
fi
