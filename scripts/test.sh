#!/usr/bin/env bash
# The test command: installs dependencies (apt-get, idempotent), builds with all
# cores and runs every test (unit, conformance, end-to-end, shared cases, interop,
# fuzz corpus replays), then a short run of every fuzz target and the demo.
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   ASan+UBSan+LSan build in build-sanitize/ (no fuzzing run, no
#                                demo); any sanitizer report fails the test that made it
# Extra arguments after the optional --sanitize go to ctest (e.g. -R parser) and
# leave out the fuzzing run and the demo. docs/testing.md has the details.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=()
dir=build
if [ "${1:-}" = --sanitize ]; then
  mode=(--sanitize); dir=build-sanitize; shift
fi
bash scripts/deps.sh
bash scripts/build.sh "${mode[@]}"
# report_skips: the tests ctest reported as skipped (exit 77: something this
# host lacks), by name, each with the "skipped: <why>" lines of its output.
ctest_out=$(mktemp /tmp/mkimage-ctest.XXXXXX)
report_skips() {
  local names
  names=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$ctest_out")
  rm -f "$ctest_out"
  echo
  if [ -z "$names" ]; then
    echo "skipped tests: none"
    return
  fi
  echo "skipped tests ($(wc -l <<<"$names")), not run here:"
  awk -v names="$names" '
    BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    /^[0-9]+\/[0-9]+ Testing: / { name = $3; out = 0; k = 0; next }
    /^Output:$/ { getline; out = 1; next }
    /^<end of output>$/ {
      if (want[name] && k == 0) print "  " name ": (no reason printed)"
      if (k > 5) print "  " name ": ... " k - 5 " more"
      out = 0; next
    }
    out && want[name] && /^([A-Za-z0-9_.-]+: )?skipped: / { if (++k <= 5) print "  " name ": " $0 }
  ' "$dir/Testing/Temporary/LastTest.log"
}
ctest_status=0
[ ${#mode[@]} -eq 0 ] || rm -rf "$dir/sanitizer-reports"  # only this run's reports are listed below
(cd "$dir" && ctest --output-on-failure -j "$(nproc)" "$@") 2>&1 | tee "$ctest_out" || ctest_status=$?
# In the sanitizer build, the tests whose processes left a report
# (tests/sanitizer/run.sh: build-sanitize/sanitizer-reports/<test>/).
if [ ${#mode[@]} -gt 0 ]; then
  reported=$(find "$dir/sanitizer-reports" -mindepth 2 -maxdepth 2 -type f \( -name 'asan.*' -o -name 'ubsan.*' \) \
    ! -path '*/sanitizer.self_test/*' -printf '%h\n' 2>/dev/null | sort -u)
  if [ -n "$reported" ]; then
    echo "sanitizer reports (each fails its test):"
    sed 's/^/  /' <<<"$reported"
  else
    echo "sanitizer reports: none"
  fi
fi
# The list comes last, after the demo too, whatever their outcome; the exit
# status stays ctest's (or the demo's).
trap report_skips EXIT
[ "$ctest_status" = 0 ] || exit "$ctest_status"
# Every fuzz target for MKIMAGE_FUZZ_SECONDS (default 60; 0 = none), as many at
# once as cores (scripts/fuzz.sh; a clang build in build-fuzz/): only after the
# whole suite of the normal build. The seed is fixed (MKIMAGE_FUZZ_SEED, default
# 1) so that the suite's result never depends on luck: exploring with random
# seeds is scripts/fuzz.sh's job, and what it finds becomes a regression input.
if [ $# -eq 0 ] && [ ${#mode[@]} -eq 0 ] && [ "${MKIMAGE_FUZZ_SECONDS:-60}" != 0 ]; then
  FUZZ_ARGS="-seed=${MKIMAGE_FUZZ_SEED:-1} ${FUZZ_ARGS:-}" bash scripts/fuzz.sh all "${MKIMAGE_FUZZ_SECONDS:-60}"
fi
# The bundled example end to end (needs apt's mirror and the npm registry; about
# 3 minutes the first time, under a minute once the base images exist). It runs
# after the whole suite, not when ctest arguments select a subset, and
# MKIMAGE_RUN_DEMO=0 skips it.
if [ $# -eq 0 ] && [ ${#mode[@]} -eq 0 ] && [ "${MKIMAGE_RUN_DEMO:-1}" != 0 ]; then
  bash scripts/demo.sh
fi
