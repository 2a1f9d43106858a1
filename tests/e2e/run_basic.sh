#!/usr/bin/env bash
# mkimage run: exit codes, --rm, -e/-w/-u, the image's Cmd/Env, --entrypoint,
# the default network (docker's bridge: eth0 with outbound access, the host's
# 127.0.0.1 out of reach), --network host|none, and a restarted container
# keeping its writable layer.
source "$(dirname "$0")/run_common.bash"

expect_eq "$(M run --rm bb:latest)" "default-cmd from-image" "image Cmd and Env apply"

set +e
M run --rm bb:latest sh -c 'exit 7'
rc=$?
set -e
expect_eq "$rc" 7 "exit code passes through"
expect_eq "$(M ps -a -q)" "" "--rm leaves no container"

# a process that cannot start: docker's 127 (not found) and 126 (not executable)
set +e
M run --rm bb:latest /no/such/command 2>"$WORK/err"; rc=$?
set -e
expect_eq "$rc" 127 "a command that does not exist exits 127"
grep -qx 'mkimage: OCI runtime create failed: unable to start container process: exec: "/no/such/command": stat /no/such/command: no such file or directory: unknown' "$WORK/err" \
  || fail "docker's words for a missing command: $(cat "$WORK/err")"
expect_eq "$(wc -l <"$WORK/err")" 1 "one error line (not the runtime's own beside ours)"
set +e
M run --rm bb:latest /etc 2>"$WORK/err"; rc=$?
M run -d --name nostart bb:latest /no/such/command >"$WORK/out" 2>"$WORK/err2"; rc2=$?
set -e
expect_eq "$rc" 126 "a command that is not executable exits 126"
grep -q 'exec: "/etc": permission denied: unknown$' "$WORK/err" || fail "docker's words for permission denied: $(cat "$WORK/err")"
expect_eq "$rc2 $(wc -l <"$WORK/err2")" "127 1" "run -d of a missing command: exits 127 with one error"
expect_eq "$(wc -c <"$WORK/out")" 65 "run -d of a missing command prints the created container's ID first"
grep -q 'no such file or directory: unknown$' "$WORK/err2" || fail "run -d says why: $(cat "$WORK/err2")"
expect_eq "$(M logs nostart)" "" "the runtime's error is not in the container's log"
# docker: a container whose process could not start stays Created, with exit code 127
M ps -a | grep " nostart$" | grep -q "Created" || fail "the container is recorded as created: $(M ps -a)"
set +e
M start nostart nosuchbox >/dev/null 2>"$WORK/err3"; rc3=$?
set -e
expect_eq "$rc3 $(tail -n1 "$WORK/err3")" "1 Error: failed to start containers: nostart, nosuchbox" "start tries each container, then docker's summary line"
grep -q 'No such container: nosuchbox' "$WORK/err3" || fail "start names the unknown container: $(cat "$WORK/err3")"
M rm nostart >/dev/null
# a process's own stderr line that looks like the runtime's still shows
expect_eq "$(M run --rm bb:latest sh -c 'echo "runc run failed: mine" >&2' 2>&1)" "runc run failed: mine" "the process's stderr passes through"
set +e
M run --rm -u nosuchuser bb:latest id 2>/dev/null; rc=$?
set -e
expect_eq "$rc" 125 "an unknown -u user exits 125"
expect_eq "$(M ps -a -q)" "" "--rm removes a container whose start failed"
expect_eq "$(ls "$MKIMAGE_ROOT/containers" | wc -l)" 0 "--rm leaves no container directory"

# --init: docker's tini at /sbin/docker-init is pid 1, the command its child
if [ -x /usr/bin/docker-init ] || [ -x /usr/bin/tini-static ]; then
  expect_eq "$(M run --rm --init bb:latest sh -c 'tr "\0" " " </proc/1/cmdline; exit 3' || echo "rc=$?")" \
    "/sbin/docker-init -- sh -c tr \"\\0\" \" \" </proc/1/cmdline; exit 3 rc=3" "--init runs tini as pid 1, the status passes through"
else
  echo "not checked: --init (no /usr/bin/tini-static: scripts/deps.sh installs tini)"
fi

out=$(M run --rm -e A=1 -e FOO=override -w /tmp -u app bb:latest sh -c 'echo $A $FOO $(pwd) $(id -u) $(id -g) $HOME')
expect_eq "$out" "1 override /tmp 1000 1000 /home/app" "-e, -w, -u apply"

expect_eq "$(M run --rm --entrypoint /bin/echo bb:latest hi there)" "hi there" "--entrypoint replaces Cmd"
expect_eq "$(M run --rm --network none bb:latest ls /sys/class/net)" "lo" "--network none has only lo"
expect_eq "$(M run --rm bb:latest ls /sys/class/net | tr '\n' ' ')" "eth0 lo " "the default network has eth0 and lo"
# A web server on every host address: the container reaches it on the host's
# own address (outbound), not on 127.0.0.1 nor through the gateway; --network
# host reaches it on 127.0.0.1.
mkdir -p "$WORK/www" && echo served >"$WORK/www/marker"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 0.0.0.0 --directory "$WORK/www" "$port" >/dev/null 2>&1 &
web=$!
for _ in $(seq 1 50); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/marker')" 2>/dev/null && break; sleep 0.1; done
# (busybox's wget crashes in this busybox build: an HTTP request through nc)
get() { M run --rm "$@" sh -c "printf 'GET /marker HTTP/1.0\\r\\n\\r\\n' | nc -w 3 \$0 $port | tail -n 1" "$host"; }
host_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
host=127.0.0.1
expect_eq "$(get --network host bb:latest)" "served" "--network host reaches the host's 127.0.0.1"
expect_eq "$(get bb:latest 2>/dev/null)" "" "the default network does not reach the host's 127.0.0.1"
host=10.0.2.2
expect_eq "$(get bb:latest 2>/dev/null)" "" "the gateway does not lead to the host's 127.0.0.1"
if [ -n "$host_ip" ]; then
  host=$host_ip
  expect_eq "$(get bb:latest)" "served" "the default network reaches the host's address $host_ip"
else
  echo "run_basic: no host address with a route (outbound check skipped)"
fi
kill "$web"; wait "$web" 2>/dev/null || true
expect_eq "$(echo piped | M run --rm -i bb:latest cat)" "piped" "-i passes stdin"

set +e
M run --rm --name 'bad/name' bb:latest true 2>"$WORK/err"; rc=$?
set -e
expect_eq "$rc" 125 "an invalid --name exits 125"
grep -q 'Invalid container name (bad/name)' "$WORK/err" || fail "the error names the rule: $(cat "$WORK/err")"
expect_eq "$(M ps -a -q)" "" "an invalid --name creates no container"
expect_eq "$(M run --name counter bb:latest sh -c 'echo x >> /count; wc -l < /count')" "1" "first run"
expect_eq "$(M start -a counter)" "2" "start -a reuses the writable layer"
M rm counter >/dev/null
# import from stdin with --change before the positional arguments (the demo's form)
M import --change 'CMD ["/bin/echo","from","stdin"]' - bb:stdin < "$WORK/rootfs.tar" >/dev/null
expect_eq "$(M run --rm bb:stdin)" "from stdin" "import --change CMD - NAME reads stdin"
echo "run_basic: all passed"
