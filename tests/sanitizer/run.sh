#!/usr/bin/env bash
# Runs one ctest test of a sanitizer build (MKIMAGE_SANITIZE=ON) and fails it on
# any AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report.
#   tests/sanitizer/run.sh REPORT_DIR COMMAND [ARGS...]
# Every instrumented process the test starts (the test binary, each mkimage the
# scripts run, their forks) inherits the options below and writes a report, if
# it has one, to REPORT_DIR/{asan,ubsan}.<pid> rather than to its stderr, so a
# report cannot be swallowed by a script that only checks exit codes or
# redirects output. After the command ends, any report file fails the test
# (whatever its exit status, a skip included) and is printed.
# docs/testing.md §Sanitizers: what runs, what is suppressed and why.
set -u
dir=$1; shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$dir" && mkdir -p "$dir" || exit 1
# halt at the first error, as a crash (abort) with the stack; leaks are checked
# at exit (LeakSanitizer is part of ASan); a report goes to the file only.
common=halt_on_error=1:abort_on_error=1:print_stacktrace=1:disable_coredump=1
export ASAN_OPTIONS=$common:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$dir/asan${ASAN_OPTIONS_EXTRA:+:$ASAN_OPTIONS_EXTRA}
export LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=$common:log_path=$dir/ubsan${UBSAN_OPTIONS_EXTRA:+:$UBSAN_OPTIONS_EXTRA}
# Instrumented code runs some 2-4 times slower (more under load): tests with
# time bounds (tests/reliability/resource_limits.sh) multiply them by this.
export MKIMAGE_TEST_TIME_FACTOR=${MKIMAGE_TEST_TIME_FACTOR:-4}
"$@"
status=$?
shopt -s nullglob
reports=("$dir"/asan.* "$dir"/ubsan.*)
if [ ${#reports[@]} -gt 0 ]; then
  for r in "${reports[@]}"; do
    echo "=== sanitizer report $r (the test exited $status):"
    cat "$r"
  done
  echo "FAIL: ${#reports[@]} sanitizer report(s) in $dir"
  exit 1
fi
exit "$status"
