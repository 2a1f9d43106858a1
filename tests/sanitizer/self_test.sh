#!/usr/bin/env bash
# The sanitizer build's self-test: a report from any process a test starts
# fails the test, even when the test ignores that process's exit status and
# output (tests/sanitizer/run.sh). Runs report_probe (one deliberate defect per
# kind) through run.sh inside a command that discards everything and exits 0.
#   self_test.sh PROBE SCRATCH_DIR
set -u
probe=$1 scratch=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "sanitizer.self_test: FAIL: $*"; exit 1; }
rm -rf "$scratch" && mkdir -p "$scratch" || fail "cannot make $scratch"
for kind in heap leak ub none; do
  rc=0
  bash "$here/run.sh" "$scratch/$kind" bash -c '"$0" "$1" >/dev/null 2>&1; exit 0' "$probe" "$kind" \
    >"$scratch/$kind.out" 2>&1 || rc=$?
  if [ "$kind" = none ]; then
    [ "$rc" = 0 ] || fail "no defect, yet the test failed ($rc): $(tail -3 "$scratch/$kind.out")"
    continue
  fi
  [ "$rc" = 1 ] || fail "$kind: the test passed (exit $rc) although the probe had a sanitizer report"
  case $kind in
    heap) want='heap-buffer-overflow\|insufficient space' ;;
    leak) want='LeakSanitizer: detected memory leaks' ;;
    ub) want='signed integer overflow' ;;
  esac
  grep -q "$want" "$scratch/$kind.out" || fail "$kind: the report is not printed: $(head -5 "$scratch/$kind.out")"
  echo "sanitizer.self_test: $kind: reported and failed, as it should"
done
echo "sanitizer.self_test: ok"
