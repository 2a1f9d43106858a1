#!/usr/bin/env bash
# mkimage run -d: -p forwards a connection (and stops when the container exits),
# logs, ps / ps -a, stop.
source "$(dirname "$0")/run_common.bash"

port=$(free_port)
id=$(M run -d --name web -p "$port:8080" bb:latest httpd -f -p 8080 -h /www)
expect_eq "${#id}" 64 "run -d prints the container ID"
body=$(fetch_when_up "$port")
expect_eq "$body" "hello from the container" "-p forwards a connection into the container"
M ps | grep -q " web$" || fail "ps lists the running container"
echo "ok: ps lists the running container"
# a port in use: -d fails at once with docker's 125 and the message; --rm leaves nothing
set +e
start=$(date +%s)
M run -d --name clash -p "$port:8080" bb:latest httpd -f -p 8080 -h /www 2>"$WORK/clash.err"; rc=$?
M run -d --rm --name clash2 -p "$port:8080" bb:latest true 2>/dev/null; rc2=$?
set -e
expect_eq "$rc $rc2" "125 125" "run -d with a port in use exits 125"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "run -d with a port in use took more than 10 s"
grep -q "Address already in use" "$WORK/clash.err" || fail "run -d with a port in use says why: $(cat "$WORK/clash.err")"
M ps -a | grep " clash$" | grep -q "Created" || fail "the clashing container stays created, as docker's: $(M ps -a)"
M ps -a | grep -q " clash2$" && fail "--rm removes a container that could not start"
echo "ok: a clashing -p port fails at once, recorded, --rm honoured"
M rm clash >/dev/null
set +e
M rm web 2>"$WORK/rm.err"; rc=$?
set -e
expect_eq "$rc" 1 "rm of a running container exits 1"
grep -q 'You cannot remove a running container [0-9a-f]\{64\}. Stop the container before attempting removal or force remove' "$WORK/rm.err" \
  || fail "docker's words: $(cat "$WORK/rm.err")"
M stop -t 2 web >/dev/null
if curl -s --max-time 2 "http://127.0.0.1:$port/" >/dev/null; then fail "forwarding stops when the container exits"; fi
echo "ok: forwarding stops when the container exits"
M ps | grep -q " web$" && fail "ps hides stopped containers"
M ps -a | grep " web$" | grep -q "Exited (" || fail "ps -a lists the stopped container"
echo "ok: ps -a lists stopped containers"

# A container that exits on its own (httpd daemonizes; pid 1 ends after 3 s and
# takes the pid namespace with it): forwarding works, then stops.
port2=$(free_port)
M run -d --name brief -p "$port2:8080" bb:latest sh -c 'httpd -p 8080 -h /www; sleep 3' >/dev/null
body=$(fetch_when_up "$port2")
expect_eq "$body" "hello from the container" "-p forwards into a container that will exit by itself"
for _ in $(seq 1 100); do M ps -a | grep " brief$" | grep -q "Exited (" && break; sleep 0.1; done
M ps -a | grep " brief$" | grep -q "Exited (0)" || fail "brief exited 0 by itself"
if curl -s --max-time 2 "http://127.0.0.1:$port2/" >/dev/null; then fail "forwarding stops when the container exits by itself"; fi
echo "ok: forwarding stops when the container exits by itself"

M run -d --name talker bb:latest sh -c 'echo hello-log; echo err-log >&2; sleep 1; echo bye-log' >/dev/null
out=$(M logs -f talker)
# (stdout and stderr lines may interleave either way, as with docker; the line
# written after the sleep must be there: -f followed until the exit)
expect_eq "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "bye-log err-log hello-log " "logs -f shows a detached container's output until it exits"
expect_eq "$(printf '%s\n' "$out" | tail -1)" "bye-log" "logs -f ends with the last line written before the exit"
M logs talker | grep -qx "hello-log" || fail "logs shows the output"
echo "ok: logs shows the output"
M ps -a | grep " talker$" | grep -q "Exited (0)" || fail "talker exited 0"

M run -d --rm --name gone bb:latest true >/dev/null
for _ in $(seq 1 50); do M ps -a | grep -q " gone$" || break; sleep 0.1; done
M ps -a | grep -q " gone$" && fail "-d --rm removes the container when it exits"
echo "ok: -d --rm removes the container"
M rm web talker brief >/dev/null
echo "run_detached: all passed"
