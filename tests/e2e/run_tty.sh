#!/usr/bin/env bash
# mkimage run -t: the runtime hands the container's terminal to mkimage
# (--console-socket), so -t works as docker's does with or without a terminal
# on our side: `run -t … | cat`, `run -d -t` (logs), `run -dit` + attach, and
# under a real terminal `run -it` in raw mode with the window size (and its
# changes) passed on.
source "$(dirname "$0")/run_common.bash"

# -t without a terminal: docker's output, \r\n from the container's terminal
set +e
M run --rm -t bb:latest sh -c 'echo hi; tty; exit 3' </dev/null >"$WORK/t.out" 2>"$WORK/t.err"; rc=$?
set -e
expect_eq "$rc" 3 "run -t without a terminal runs and passes the exit code on"
expect_eq "$(od -An -c "$WORK/t.out" | tr -d '\n' | tr -s ' ')" " h i \r \n / d e v / p t s / 0 \r \n" "run -t output comes from the container's terminal"
expect_eq "$(cat "$WORK/t.err")" "" "nothing on stderr"

# -it without a terminal: docker's check (CheckTty)
set +e
M run --rm -it bb:latest true </dev/null 2>"$WORK/it.err"; rc=$?
set -e
expect_eq "$rc $(cat "$WORK/it.err")" "1 mkimage: the input device is not a TTY" "run -it without a terminal: docker's words"

# -d -t: the terminal's output is the container's log
M run -d -t --name dt bb:latest sh -c 'tty; echo done' >/dev/null
for _ in $(seq 1 100); do M ps -a | grep -q ' dt$' && ! M ps | grep -q ' dt$' && break; sleep 0.05; done
expect_eq "$(M logs dt | od -An -c | tr -d '\n' | tr -s ' ')" " / d e v / p t s / 0 \r \n d o n e \r \n" "run -d -t: logs show the terminal's output"

# -dit, then attach: what attach reads goes into the terminal
M run -dit --name dit bb:latest sh >/dev/null
printf 'echo from-attach\nexit 5\n' >"$WORK/attach.in"
set +e
timeout 20 "$MKIMAGE" attach dit <"$WORK/attach.in" >"$WORK/attach.out"; rc=$?
set -e
expect_eq "$rc" 5 "attach to a -dit container ends with its exit code"
grep -q $'^from-attach\r$' "$WORK/attach.out" || fail "attach's input reached the terminal: $(od -c "$WORK/attach.out" | head)"

# under a real terminal (script(1) makes one): raw mode, the window size
if command -v script >/dev/null; then
  set +e
  timeout 30 script -qec "stty rows 33 cols 77; $MKIMAGE run --rm -it bb:latest sh -c 'stty size; exit 6'" /dev/null </dev/null >"$WORK/pty.out"; rc=$?
  set -e
  expect_eq "$rc" 6 "run -it under a terminal passes the exit code on"
  grep -q $'33 77\r$' "$WORK/pty.out" || fail "the window size reaches the container: $(od -c "$WORK/pty.out" | head)"
  grep -q $'\r\r' "$WORK/pty.out" && fail "our terminal is in raw mode (no second carriage return): $(od -c "$WORK/pty.out" | head)"
  echo "ok: run -it under a terminal: raw mode, window size"
  # the window resized while the container runs (SIGWINCH) reaches its terminal
  timeout 30 script -qec "stty rows 20 cols 50; (sleep 0.5; stty rows 40 cols 90 </dev/tty) & $MKIMAGE run --rm -it bb:latest sh -c 'stty size; sleep 1.5; stty size'" /dev/null </dev/null >"$WORK/winch.out" || true
  grep -q $'20 50\r$' "$WORK/winch.out" && grep -q $'40 90\r$' "$WORK/winch.out" \
    || fail "a resized window reaches the container: $(od -c "$WORK/winch.out" | head)"
  echo "ok: a resized window reaches the container's terminal"
else
  echo "note: script(1) is not installed: the real-terminal case was not run"
fi

M rm -f dt dit >/dev/null
expect_eq "$(find "$MKIMAGE_ROOT" /tmp -maxdepth 3 -name console.sock 2>/dev/null | grep -c "$WORK\|mkimage-console" || true)" 0 "no console socket is left"
echo "run_tty: all passed"
