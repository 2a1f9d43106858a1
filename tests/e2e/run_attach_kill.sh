#!/usr/bin/env bash
# mkimage attach and kill: attach prints what a running container writes from
# now on, passes its stdin to a container started with -i (--no-stdin: not),
# passes the signals it receives to the container (docker's
# sig-proxy) and exits with the container's status; kill -s sends a signal
# (docker's names and numbers, KILL by default); docker's words for a stopped
# container and an invalid signal.
source "$(dirname "$0")/run_common.bash"

M run -d --name talker bb:latest sh -c \
  'trap "echo got USR1" USR1; trap "echo got TERM; exit 3" TERM; echo before; while :; do echo tick; sleep 0.2; done' >/dev/null
sleep 0.5
"$MKIMAGE" attach talker >"$WORK/attach.out" 2>"$WORK/attach.err" &
att=$!
sleep 1
M kill -s usr1 talker >/dev/null || fail "kill -s usr1"
sleep 0.6
kill -TERM "$att"
set +e
wait "$att"; rc=$?
set -e
expect_eq "$rc" 3 "attach exits with the container's status"
grep -q '^tick$' "$WORK/attach.out" || fail "attach shows the output: $(cat "$WORK/attach.out")"
grep -q '^before$' "$WORK/attach.out" && fail "attach shows only what comes after it attached"
grep -q '^got USR1$' "$WORK/attach.out" || fail "kill -s usr1 reached the process: $(cat "$WORK/attach.out")"
grep -q '^got TERM$' "$WORK/attach.out" || fail "attach passed SIGTERM on: $(cat "$WORK/attach.out")"
M ps -a | grep " talker$" | grep -q "Exited (3)" || fail "the container exited 3: $(M ps -a)"
echo "ok: attach follows, proxies SIGTERM, exits with the container's status; kill -s usr1"

set +e
M attach talker 2>"$WORK/err"; rc=$?
M kill talker 2>"$WORK/err2"; rc2=$?
M kill -s BOGUS talker 2>"$WORK/err3"; rc3=$?
set -e
expect_eq "$rc" 1 "attach to a stopped container exits 1"
grep -q 'You cannot attach to a stopped container, start it first' "$WORK/err" || fail "docker's words: $(cat "$WORK/err")"
expect_eq "$rc2" 1 "kill of a stopped container exits 1"
grep -q 'Container [0-9a-f]\{64\} is not running' "$WORK/err2" || fail "docker's words: $(cat "$WORK/err2")"
expect_eq "$rc3" 2 "an invalid signal is a usage error"
grep -q 'Invalid signal: BOGUS' "$WORK/err3" || fail "docker's words: $(cat "$WORK/err3")"

# stdin: attached for a container started with -i (not with --no-stdin, and
# never for one without -i); the container's stdin stays open after attach's EOF
M run -di --name reader bb:latest sh -c 'while read -r l; do echo "got $l"; done; echo stdin-closed' >/dev/null
M run -d --name noinput bb:latest sh -c 'cat; echo stdin-empty; sleep 300' >/dev/null
( echo one | "$MKIMAGE" attach reader >"$WORK/a1.out" 2>&1 ) & a1=$!
( echo two | "$MKIMAGE" attach --no-stdin reader >/dev/null 2>&1 ) & a2=$!
( echo three | "$MKIMAGE" attach noinput >/dev/null 2>&1 ) & a3=$!
for _ in $(seq 1 50); do grep -q '^got one$' "$WORK/a1.out" && break; sleep 0.1; done
sleep 0.3
kill -9 $a1 $a2 $a3 2>/dev/null || true
wait $a1 $a2 $a3 2>/dev/null || true
expect_eq "$(cat "$WORK/a1.out")" "got one" "attach passes stdin to a -i container and shows its answer"
expect_eq "$(M logs reader)" "got one" "--no-stdin passes nothing; EOF leaves the container's stdin open"
expect_eq "$(M logs noinput)" "stdin-empty" "a container without -i has no stdin to attach"
M rm -f reader noinput >/dev/null

M run -d --name sleeper bb:latest sleep 300 >/dev/null
expect_eq "$(M kill sleeper)" "sleeper" "kill prints the name"
for _ in $(seq 1 50); do M ps -a | grep " sleeper$" | grep -q "Exited (" && break; sleep 0.1; done
M ps -a | grep " sleeper$" | grep -q "Exited (137)" || fail "kill sends KILL by default: $(M ps -a)"
echo "run_attach_kill: all passed"
