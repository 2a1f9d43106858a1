#!/usr/bin/env bash
# Ctrl-C (SIGINT) during a RUN leaves no mounts, no runtime containers, no
# half-written blobs and no temp directories.
. "$(dirname "$0")/build_helpers.inc"
ctx c
secs=$((600 + RANDOM % 300))  # a sleep no other process on the machine runs
cat >c/Dockerfile <<DF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo started && sleep $secs && echo done > /x
DF
"$MKIMAGE" build --progress plain c >log.1 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '^#[0-9]* [0-9.]* started' log.1 && break; sleep 0.2; done
grep -q 'started' log.1 || { kill -9 $pid; cat log.1; fail "the RUN step never started"; }
kill -INT $pid
for _ in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
kill -0 $pid 2>/dev/null && { kill -9 $pid; fail "mkimage did not exit after SIGINT"; }
wait $pid && fail "an interrupted build exited 0"
! grep -q "$MKIMAGE_ROOT" /proc/mounts || fail "mounts left: $(grep "$MKIMAGE_ROOT" /proc/mounts)"
pgrep -f "sleep $secs\$" >/dev/null && fail "the RUN process is still running"
for id in $(runc --root /run/mkimage/runc list -q 2>/dev/null); do
  case $id in mkimage-$pid-*) fail "runtime container $id left";; esac
done
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp" 2>/dev/null | grep -v '^active$')" ] || fail "temp files left: $(ls -A "$MKIMAGE_ROOT/tmp")"
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp/active" 2>/dev/null)" ] || fail "active snapshots left"
# The store is consistent afterwards and the finished steps are cached.
if "$MKIMAGE" store check --help >/dev/null 2>&1; then
  "$MKIMAGE" store check >check.log 2>&1 || { cat check.log; fail "store check failed after the interrupt"; }
else
  echo "$TEST: note: no 'store check' command in this binary; blob check skipped"
fi
# Interrupts at every moment of a RUN's start (`timeout` signals the process
# and then its group: the duplicate must not skip the cleanup).
for d in 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.6 0.8 1.0; do
  timeout --preserve-status -s INT $d "$MKIMAGE" build --no-cache c >/dev/null 2>&1
  rc=$?
  [ $rc = 130 ] || [ $rc = 0 ] || fail "interrupt after ${d}s: exit $rc"
done
sleep 0.5
! grep -q "$MKIMAGE_ROOT" /proc/mounts || fail "mounts left after timed interrupts: $(grep "$MKIMAGE_ROOT" /proc/mounts)"
pgrep -f "sleep $secs\$" >/dev/null && fail "a RUN process outlived a timed interrupt"
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp" 2>/dev/null | grep -v '^active$')" ] || fail "temp files left: $(ls -A "$MKIMAGE_ROOT/tmp")"
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp/active" 2>/dev/null)" ] || fail "active snapshots left after timed interrupts"
sed -i "s/sleep $secs/true/" c/Dockerfile
b 2 c
cache 2 'COPY busybox' HIT '--install' HIT
pass
