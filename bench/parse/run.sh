#!/bin/bash
# Parse + plan benchmark on a generated 10,000-instruction Dockerfile.
# Usage: bench/parse/run.sh [build-dir] [extra args for bench_parse_parse_plan]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
shift || true
cmake --build "$build" -j2 --target bench_parse_parse_plan >/dev/null
"$build/bench/bench_parse_parse_plan" --instructions 10000 --iterations 5 "$@"
