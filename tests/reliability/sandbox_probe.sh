#!/usr/bin/env bash
# The RUN sandbox is at least docker's default (issue 11 item 10): a probe
# run inside RUN steps checks the seccomp filter (Seccomp: 2), no new
# privileges, docker's default capability set, user-namespace creation
# refused, docker's masked and read-only paths; the network: a private
# namespace per step that reaches a server on a non-loopback host address
# (outbound through slirp4netns) but not one bound to the host's 127.0.0.1, unless
# --network=host; --network=none has only lo. RUN --security=insecure needs
# --allow security.insecure (BuildKit's error otherwise) and then lifts the
# confinement. Nothing is left behind: no namespace file, no slirp4netns process,
# also after a kill -9 (the next build sweeps them).
# Base image: FROM scratch + the host's static busybox (no registry).
# Every mkimage process sweeps the namespace files of dead owners under
# /run/mkimage/netns, so a build of a test running beside this one could remove
# the killed build's file before this test looks: the test runs in a mount
# namespace of its own with a private /run/mkimage/netns.
if [ -z "${SANDBOX_PROBE_PRIVATE_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  mkdir -p /run/mkimage/netns
  SANDBOX_PROBE_PRIVATE_NETNS=1 exec unshare -m --propagation private \
    bash -c 'mount -t tmpfs -o mode=0700 mkimage-netns /run/mkimage/netns && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/../e2e/build_helpers.inc"
command -v slirp4netns >/dev/null || skip "slirp4netns is not installed"
[ -f /usr/share/containers/seccomp.json ] || skip "/usr/share/containers/seccomp.json (golang-github-containers-common) is missing"
command -v python3 >/dev/null || skip "python3 is not installed"

ctx c
cat >c/Dockerfile <<'EOF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM base AS probe
ARG PORT HOSTIP
RUN grep -E '^(Seccomp|NoNewPrivs|CapEff|CapBnd):' /proc/self/status > /status; \
    if unshare -U true 2>/unshare.err; then echo allowed; else echo refused; fi > /unshare; \
    for p in /proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list \
             /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware; do \
      if [ -d $p ]; then echo "$p dir $(ls -A $p | wc -l)"; \
      elif [ -e $p ]; then echo "$p file $(cat $p 2>/dev/null | wc -c)"; fi; done > /masked; \
    for p in /proc/sys/kernel/domainname /proc/sysrq-trigger; do \
      if (echo x > $p) 2>/dev/null; then echo "$p writable"; else echo "$p read-only"; fi; done > /readonly; \
    ip -o link | awk -F': ' '{print $2}' | sort | tr '\n' ' ' > /links; \
    (printf 'GET /loopback.txt HTTP/1.0\r\n\r\n' | nc -w 3 127.0.0.1 $PORT; \
     printf 'GET /loopback.txt HTTP/1.0\r\n\r\n' | nc -w 3 10.0.2.2 $PORT) > /loopback 2>&1 || true; \
    (printf 'GET /outbound.txt HTTP/1.0\r\n\r\n' | nc -w 5 $HOSTIP $((PORT+1))) > /outbound 2>&1 || true
RUN --network=host (printf 'GET /loopback.txt HTTP/1.0\r\n\r\n' | nc -w 3 127.0.0.1 $PORT) > /loopback.host 2>&1 || true
RUN --network=none ip -o link | awk -F': ' '{print $2}' | sort | tr '\n' ' ' > /links.none

FROM scratch
COPY --from=probe /status /unshare /unshare.err /masked /readonly /links /loopback /outbound /loopback.host /links.none /
EOF

# Two servers: one on the host's loopback, one on a non-loopback address.
mkdir -p www && echo LOOPBACK-SECRET >www/loopback.txt && echo OUTBOUND-OK >www/outbound.txt
hostip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
srv1=$!
srv2=
if [ -n "$hostip" ]; then
  python3 -m http.server "$((port + 1))" --bind "$hostip" --directory www >/dev/null 2>&1 &
  srv2=$!
fi
trap 'kill $srv1 $srv2 2>/dev/null; cd /; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/loopback.txt', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

b probe --no-cache --build-arg PORT="$port" --build-arg HOSTIP="${hostip:-192.0.2.255}" -o type=local,dest=out c

# Seccomp filter, no new privileges, docker's default capabilities (a80425fb).
grep -q $'^Seccomp:\t2$' out/status || fail "Seccomp is not 2: $(cat out/status)"
grep -q $'^NoNewPrivs:\t1$' out/status || fail "NoNewPrivs is not 1: $(cat out/status)"
grep -q $'^CapEff:\t00000000a80425fb$' out/status || fail "CapEff is not docker's default set: $(cat out/status)"
grep -q $'^CapBnd:\t00000000a80425fb$' out/status || fail "CapBnd is not docker's default set: $(cat out/status)"
is out/unshare "refused"$'\n'
grep -q "Operation not permitted" out/unshare.err || fail "unshare -U: $(cat out/unshare.err), want Operation not permitted"
# Masked paths: what exists reads empty (a file) or lists nothing (a directory).
[ -s out/masked ] || fail "no masked path exists in the container"
if grep -vE ' (dir|file) 0$' out/masked; then fail "a masked path shows content"; fi
is out/readonly "/proc/sys/kernel/domainname read-only"$'\n'"/proc/sysrq-trigger read-only"$'\n'
# Networks: private (lo + slirp4netns's eth0), none (lo only), host.
is out/links.none "lo "
is out/links "eth0 lo "
if grep -q LOOPBACK-SECRET out/loopback; then fail "a RUN reached a service on the host's 127.0.0.1"; fi
grep -q LOOPBACK-SECRET out/loopback.host || fail "RUN --network=host did not reach the host's 127.0.0.1: $(cat out/loopback.host)"

# --security=insecure: refused without the entitlement (BuildKit's words), unconfined with it.
ctx i
cat >i/Dockerfile <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN --security=insecure ["/bin/busybox", "sh", "-c", "/bin/busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status > /status"]
FROM scratch
COPY --from=0 /status /
EOF
b_fails insecure-denied i
log_has insecure-denied "security.insecure is not allowed"
b insecure --allow security.insecure -o type=local,dest=iout i
grep -q $'^Seccomp:\t0$' iout/status || fail "insecure: Seccomp is not 0: $(cat iout/status)"
grep -q $'^NoNewPrivs:\t0$' iout/status || fail "insecure: NoNewPrivs is not 0: $(cat iout/status)"
b_fails bad-entitlement --allow foo.bar i
log_has bad-entitlement "invalid entitlement: foo.bar"

# No leftovers: no namespace file of a finished build
# (their owners are dead; live builds of other processes keep theirs).
left() { ls /run/mkimage/netns/ 2>/dev/null | grep -E "^mkimage-net-$1-" || true; }
dead_left() {
  left '[0-9]+' | while read -r n; do
    pid=${n#mkimage-net-}; pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || echo "$n"
  done
}
[ -z "$(dead_left)" ] || fail "private networks left behind by finished builds: $(dead_left)"

# kill -9 during a RUN: slirp4netns exits with mkimage (its --exit-fd), the
# next build removes the namespace file.
ctx k
cat >k/Dockerfile <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sleep", "60"]
EOF
"$MKIMAGE" build --progress plain --no-cache k >log.killed 2>&1 &
killed=$!
for _ in $(seq 100); do [ -n "$(left "$killed")" ] && grep -q "sleep" log.killed && break; sleep 0.1; done
[ -n "$(left "$killed")" ] || { cat log.killed; fail "no private network appeared for the RUN"; }
slirp=$(pgrep -f "/run/mkimage/netns/mkimage-net-$killed-" || true)
[ -n "$slirp" ] || fail "no slirp4netns ran for the killed build's RUN (the test proves nothing)"
kill -9 "$killed"
wait "$killed" 2>/dev/null
for _ in $(seq 50); do pgrep -f "/run/mkimage/netns/mkimage-net-$killed-" >/dev/null || break; sleep 0.1; done
pgrep -f "/run/mkimage/netns/mkimage-net-$killed-" >/dev/null && fail "slirp4netns of the killed build still runs"
[ -n "$(left "$killed")" ] || fail "the killed build left no namespace file (the sweep below proves nothing)"
b sweep --no-cache i --allow security.insecure
[ -z "$(left "$killed")" ] || fail "leftovers of the killed build after the next build: $(left "$killed")"
runc --root /run/mkimage/runc list 2>/dev/null | grep -q "mkimage-$killed-" && fail "the killed build's container still exists"

# Outbound through the private stack: a server on a non-loopback host address.
[ -n "$hostip" ] || skip "no non-loopback IPv4 address on this host to prove outbound access (everything else passed)"
grep -q OUTBOUND-OK out/outbound || fail "a RUN could not reach $hostip:$((port + 1)) through the private network: $(cat out/outbound)"
pass
