#!/usr/bin/env bash
# mkimage exec: a second process in a running container, as docker exec — the
# container's env with -e on top, -u resolved in the container's passwd, -w,
# -i stdin, the command's exit code, 127 for a missing command, -d, docker's
# errors for an unknown or stopped container; the process shares the
# container's filesystem and namespaces.
source "$(dirname "$0")/run_common.bash"

M run -d --name box bb:latest sh -c 'echo $$ > /tmp/init.pid; exec sleep 300' >/dev/null
for _ in $(seq 1 50); do M exec box test -s /tmp/init.pid 2>/dev/null && break; sleep 0.1; done

expect_eq "$(M exec box sh -c 'echo $FOO $(id -u) $(pwd)')" "from-image 0 /" "the container's env, user and working directory"
expect_eq "$(M exec -u app -w /www -e FOO=over -e BAR=1 box sh -c 'echo $FOO $BAR $(id -u):$(id -g) $(pwd)')" \
  "over 1 1000:1000 /www" "-u, -w and -e apply"
expect_eq "$(M exec box cat /tmp/init.pid)" "1" "the container's filesystem and pid namespace (init is pid 1)"
expect_eq "$(M exec box sh -c 'tr "\0" " " </proc/1/cmdline')" "sleep 300 " "pid 1 is the container's process"
expect_eq "$(echo piped | M exec -i box cat)" "piped" "-i passes stdin"
expect_eq "$(M exec box cat </dev/null)" "" "without -i, stdin is empty"

set +e
M exec box sh -c 'exit 7'; rc=$?
M exec box /no/such/command 2>"$WORK/err"; rc2=$?
M exec nosuchbox true 2>"$WORK/err2"; rc3=$?
set -e
expect_eq "$rc" 7 "the command's exit code passes through"
set +e
M exec -it box true </dev/null 2>"$WORK/tty.err"; rc=$?
M exec -t box sh -c 'tty; exit 4' </dev/null >"$WORK/tty.out"; rc_t=$?
set -e
expect_eq "$rc $(cat "$WORK/tty.err")" "1 mkimage: the input device is not a TTY" "exec -it without a terminal: docker's words"
expect_eq "$rc_t $(tr -d '\r' <"$WORK/tty.out" | sed 's|^/dev/pts/[0-9]*$|/dev/pts/N|')" "4 /dev/pts/N" "exec -t without a terminal: a terminal of its own, as docker's"
expect_eq "$(M exec box sh -c 'echo to-err >&2; echo to-out' 2>&1 >/dev/null)" "to-err" "the command's stderr passes through"
expect_eq "$rc2" 127 "a missing command exits 127"
grep -qx 'mkimage: OCI runtime exec failed: exec failed: unable to start container process: exec: "/no/such/command": stat /no/such/command: no such file or directory: unknown' "$WORK/err" \
  || fail "docker's words, once: $(cat "$WORK/err")"
expect_eq "$rc3" 1 "an unknown container exits 1"
grep -q 'No such container: nosuchbox' "$WORK/err2" || fail "docker's words for an unknown container: $(cat "$WORK/err2")"

expect_eq "$(M exec -d box sh -c 'echo not-shown; sleep 0.5; echo later > /tmp/detached')" "" "exec -d prints nothing (its output is discarded)"
for _ in $(seq 1 50); do M exec box test -s /tmp/detached 2>/dev/null && break; sleep 0.1; done
expect_eq "$(M exec box cat /tmp/detached)" "later" "exec -d runs the command in the background"

M stop -t 1 box >/dev/null
set +e
M exec box true 2>"$WORK/err4"; rc4=$?
set -e
expect_eq "$rc4" 1 "exec into a stopped container exits 1"
grep -q 'Container [0-9a-f]\{64\} is not running' "$WORK/err4" || fail "docker's words for a stopped container: $(cat "$WORK/err4")"
[ -z "$(ls "$MKIMAGE_ROOT"/containers/*/exec-*.log 2>/dev/null)" ] || fail "exec left its runtime logs"
echo "run_exec: all passed"
