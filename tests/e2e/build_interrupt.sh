#!/usr/bin/env bash
# Ctrl-C (SIGINT) during a RUN leaves no mounts, no runtime containers, no
# half-written blobs and no temp directories.
. "$(dirname "$0")/build_helpers.inc"
ctx c
cat >c/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo started && sleep 60 && echo done > /x
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
pgrep -f 'sleep 60' >/dev/null && fail "the RUN process is still running"
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
sed -i 's/sleep 60/true/' c/Dockerfile
b 2 c
cache 2 'COPY busybox' HIT '--install' HIT
pass
