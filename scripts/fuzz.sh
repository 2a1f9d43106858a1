#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (docs/testing.md §Fuzzing).
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     default: all, 60 seconds each
# Builds build-fuzz/ with clang (MKIMAGE_FUZZ=ON: libFuzzer, ASan, UBSan), then
# fuzzes each target for SECONDS, seeded from testdata/fuzz/<target>/corpus,
# .../regressions and the project's conformance data (tests/fuzz/CMakeLists.txt).
# New inputs go to build-fuzz/corpus/<target>/ (kept between runs, not
# committed); a crash leaves its input in build-fuzz/artifacts/<target>/ and the
# script exits 1. Several targets run side by side, FUZZ_JOBS at a time (default:
# the number of cores). Each target's line ends with libFuzzer's execution count.
# Environment: FUZZ_JOBS, FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
all=(dockerfile dockerignore reference oci_json layer_apply)
target=${1:-all}
seconds=${2:-60}
if [ "$target" = all ]; then
  targets=("${all[@]}")
elif [[ " ${all[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  echo "fuzz.sh: unknown target \"$target\" (one of: ${all[*]}, all)" >&2
  exit 2
fi
jobs=${FUZZ_JOBS:-$(nproc)}
dir=build-fuzz
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/deps.sh installs clang)" >&2; exit 1; }
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMKIMAGE_FUZZ=ON >/dev/null
cmake --build "$dir" -j "$jobs" --target "${targets[@]/#/fuzz_}"

# Longest input libFuzzer makes up, per target (seeds longer are cut).
max_len() {
  case $1 in
    reference) echo 512 ;;
    dockerignore) echo 2048 ;;
    layer_apply) echo 32768 ;;
    *) echo 8192 ;;
  esac
}

# run_one TARGET: fuzzes TARGET for $seconds; prints one summary line.
run_one() {
  local t=$1 corpus=$dir/corpus/$1 artifacts=$dir/artifacts/$1/ log=$dir/logs/$1.log seeds=() dict=()
  mkdir -p "$corpus" "$artifacts" "$dir/logs"
  mapfile -t seeds < <(grep -v '^$' "$dir/fuzz-seeds/$t.txt" | while read -r d; do [ -d "$d" ] && echo "$d"; done)
  # a target's dictionary (tests/fuzz/<target>.dict: keywords, keys) when it has one
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  local status=0
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" != 0 ]; then
    echo "fuzz $t: FAILED after ${execs:-?} executions (exit $status); input in $artifacts, log $log:"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*invariant broken|artifact_prefix|Test unit written)' "$log" | head -8
    return 1
  fi
  echo "fuzz $t: ok, $seconds s, ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) files"
}
export -f run_one max_len
export dir seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' || exit 1
