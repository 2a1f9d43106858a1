#!/usr/bin/env bash
# The tty progress (the default when the output is a terminal) names why a step
# runs, as --progress plain does ("#7 MISS: a.txt changed"): under the finished
# step ("   MISS: a.txt changed"), on its running line, and in a dry run's
# prediction ("=> MISS: a.txt changed [2/3] COPY a.txt /a.txt"). Run on a
# pseudo-terminal with script(1) (util-linux), so the tty mode is chosen by
# itself; docs/cache.md "Why a step ran", docs/dry-run.md.
. "$(dirname "$0")/build_helpers.inc"
command -v script >/dev/null || skip "script (util-linux) is not installed"

ctx app
echo one >app/a.txt
cat >app/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
COPY a.txt /a.txt
RUN ["/bin/busybox", "cat", "/a.txt"]
DF
b first app
echo two >app/a.txt

# on_tty LOG ARGS…: mkimage ARGS on a pseudo-terminal (auto progress), its output
# in LOG without carriage returns; must succeed.
on_tty() {
  local log=$1; shift
  local cmd
  printf -v cmd '%q ' "$MKIMAGE" "$@"
  script -qec "$cmd" /dev/null </dev/null >"$log.raw" 2>&1 || { tail -n 20 "$log.raw"; fail "$* failed on a tty"; }
  tr -d '\r' <"$log.raw" >"$log"
}
# has LOG TEXT: a line of LOG (after the cursor moves that redraw the block) is TEXT
has() {
  sed 's/\x1b\[1A\x1b\[2K//g' "$1" | grep -qxF -- "$2" || { cat -v "$1" | tail -n 20; fail "$1 lacks the line '$2'"; }
}
# has_part LOG TEXT: some line of LOG contains TEXT
has_part() { grep -qF -- "$2" "$1" || { cat -v "$1" | tail -n 20; fail "$1 lacks '$2'"; }; }

on_tty dry build --dry-run app
grep -qF '[+] Building' dry || fail "the dry run did not use the tty progress: $(head -c 300 dry | cat -v)"
has dry '=> CACHED [1/3] COPY busybox /bin/busybox'
has dry '=> MISS: a.txt changed [2/3] COPY a.txt /a.txt'
has dry '=> would run [3/3] RUN ["/bin/busybox", "cat", "/a.txt"]'

on_tty real build app
has real '   MISS: a.txt changed'
has real '   MISS: parent step ran'
# The running line names the reason too (drawn when the step starts).
has_part real '=> [3/3] RUN ["/bin/busybox", "cat", "/a.txt"] (MISS: parent step ran)'
# The finished COPY line comes right before its reason.
sed 's/\x1b\[1A\x1b\[2K//g' real | grep -A1 -E '^=> \[2/3\] COPY a.txt /a.txt [0-9.]+s$' | grep -qxF '   MISS: a.txt changed' ||
  fail "the finished COPY line is not followed by its MISS line"

# Unchanged: every step from the cache, no MISS line at all.
on_tty again build app
has again '=> CACHED [2/3] COPY a.txt /a.txt'
! grep -qF 'MISS' again || fail "a fully cached build shows a MISS line"
pass
