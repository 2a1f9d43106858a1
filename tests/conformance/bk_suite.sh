#!/usr/bin/env bash
# BuildKit's ported Dockerfile integration suite (testdata/handed/bk-suite, see
# its README) against the built binary: every case under cases/, whatever its
# number. Fails when any case fails (or the harness cannot start); exit 77 =
# skipped, with the reason, when the suite cannot run here.
set -u
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
SRC=${MKIMAGE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HANDED=${MKIMAGE_HANDED_DIR:-$SRC/testdata/handed}
SUITE=$HANDED/bk-suite
skip() { echo "bk_suite: skipped: $*"; exit 77; }

[ -x "$SUITE/run.sh" ] || [ -f "$SUITE/run.sh" ] || skip "no suite at $SUITE"
[ "$(id -u)" = 0 ] || skip "needs root (overlayfs mounts and runc)"
command -v runc >/dev/null || skip "runc is not installed"
static=""
for c in /bin/busybox /usr/bin/busybox; do
  if [ -x "$c" ] && file -L "$c" 2>/dev/null | grep -q 'statically linked'; then static=$c; break; fi
done
[ -n "$static" ] || skip "no static busybox (busybox-static) for the base image"
for t in python3 jq tar cmp file; do command -v $t >/dev/null || skip "$t is not installed"; done

work=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-bk-suite.XXXXXX")
[ -n "${KEEP:-}" ] && echo "bk_suite: work dir $work" || trap 'rm -rf "$work"' EXIT
BUSYBOX_BIN=$static BK_WORK=$work bash "$SUITE/run.sh" "$MKIMAGE" ${BK_GLOB:+"$BK_GLOB"} | tee "$work/summary.txt"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || { echo "bk_suite: run.sh exited $rc"; exit 1; }
summary=$(tail -n 1 "$work/summary.txt")
[[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]] || { echo "bk_suite: no summary line"; exit 1; }
[ "${BASH_REMATCH[1]}" -gt 0 ] || { echo "bk_suite: no case ran"; exit 1; }
if [ "${BASH_REMATCH[2]}" != 0 ]; then
  grep '^FAIL ' "$work/summary.txt"
  echo "bk_suite: ${BASH_REMATCH[2]} case(s) failed"
  exit 1
fi
echo "bk_suite: ok ($summary)"
