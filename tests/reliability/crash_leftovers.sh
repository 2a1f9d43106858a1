#!/usr/bin/env bash
# kill -9 at random moments of builds (a RUN that sleeps; a COPY of a larger
# context) leaves nothing once the store is opened again: no mounts under the
# root, no temporaries in ROOT/tmp (nor staging/trash in ROOT/snapshots), a
# consistent store, and a correct build afterwards. Opening the store while
# another build runs does not disturb that build.
# ITERATIONS (default 50) kills; the figures are printed at the end.
. "$(dirname "$0")/../e2e/build_helpers.inc"
ITERATIONS=${ITERATIONS:-50}
ROOT=$MKIMAGE_ROOT
deep=
"$MKIMAGE" store check --help 2>&1 | grep -q -- --deep && deep=--deep

# mounts: mount points at or below ROOT in this mount namespace
mounts() { awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo; }
# leftovers: temporaries (ROOT/tmp but the active dir; ROOT/tmp/active/*;
# staging and trash in ROOT/snapshots), one a line
leftovers() {
  ls -A "$ROOT/tmp" 2>/dev/null | grep -v '^active$' | sed 's|^|tmp/|'
  ls -A "$ROOT/tmp/active" 2>/dev/null | sed 's|^|tmp/active/|'
  ls -A "$ROOT/snapshots" 2>/dev/null | grep '^\.' | sed 's|^|snapshots/|'
}

ctx run
cat >run/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG N=0
ARG S=1
RUN echo "$N" > /n && mkdir -p /d && for i in 1 2 3 4 5 6 7 8; do echo "$N.$i" > /d/$i; done && sleep "$S" && echo done > /x
DF
mkdir -p copy/data
for i in $(seq 1 48); do head -c $((1024 * 1024)) /dev/urandom >"copy/data/f$i"; done
for i in $(seq 1 200); do echo "small $i" >"copy/data/s$i"; done
printf 'FROM scratch\nARG N=0\nCOPY data /data\n' >copy/Dockerfile
b warm run  # the base steps cached: later builds reach the RUN at once
[ -z "$(mounts)" ] || fail "mounts left by a finished build: $(mounts)"

t0=$(date +%s)
killed=0 finished=0 found=0 found_mounts=0 orphans_found=0 killed_pids=()
for i in $(seq 1 "$ITERATIONS"); do
  if [ $((i % 2)) = 1 ]; then
    args=(--build-arg N=$i --build-arg S=$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10)) run)
  else
    args=(--no-cache --build-arg N=$i copy)
  fi
  "$MKIMAGE" build --progress plain "${args[@]}" >log.kill 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32768 }')"
  if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); killed_pids+=("$pid"); fi
  wait $pid 2>/dev/null
  rc=$?
  [ $rc = 137 ] || [ $rc = 0 ] || { cat log.kill; fail "iteration $i: build exited $rc (not killed, not done)"; }
  [ $rc = 0 ] && finished=$((finished + 1))
  n=$(leftovers | wc -l)
  [ "$n" -gt 0 ] && found=$((found + 1))
  [ -n "$(mounts)" ] && found_mounts=$((found_mounts + 1))
  for id in $(runc --root /run/mkimage/runc list -q 2>/dev/null); do
    case $id in mkimage-$pid-*) orphans_found=$((orphans_found + 1)); break;; esac
  done
  # The next store open removes what the killed build left.
  "$MKIMAGE" images >/dev/null 2>log.images || { cat log.images; fail "iteration $i: mkimage images failed"; }
  [ -z "$(mounts)" ] || fail "iteration $i: mounts left after the store was opened: $(mounts | tr '\n' ' ')"
  [ -z "$(leftovers)" ] || fail "iteration $i: temporaries left after the store was opened: $(leftovers | tr '\n' ' ')"
  if [ $((i % 10)) = 0 ] || [ "$i" = "$ITERATIONS" ]; then
    "$MKIMAGE" store check $deep >log.check 2>&1 || { cat log.check; fail "iteration $i: store check $deep failed"; }
  fi
done

# A build opens the store (its sweep) and removes the runtime containers the
# killed builds left; its output is complete and right.
sed -i 's/sleep "$S"/true/' run/Dockerfile
b final --build-arg N=final --output type=local,dest=out run
is out/n "final
"
is out/d/8 "final.8
"
is out/x "done
"
[ -x out/bin/busybox ] || fail "out/bin/busybox is missing"
b final-copy --output type=local,dest=out-copy copy
for i in 1 48; do cmp -s "copy/data/f$i" "out-copy/data/f$i" || fail "out-copy/data/f$i differs from the context"; done
is out-copy/data/s200 "small 200
"
[ -z "$(mounts)" ] || fail "mounts left after the final builds: $(mounts)"
[ -z "$(leftovers)" ] || fail "temporaries left after the final builds: $(leftovers | tr '\n' ' ')"
[ -z "$(find "$ROOT/tmp" -mindepth 1 ! -newermt "@$t0" ! -path "$ROOT/tmp/active" 2>/dev/null)" ] ||
  fail "temporaries older than the loop: $(find "$ROOT/tmp" -mindepth 1 ! -newermt "@$t0")"
# Only this test's killed builds count: the runtime root is the machine's, and
# a test running beside this one may have killed a build of its own.
left=0
for id in $(runc --root /run/mkimage/runc list -q 2>/dev/null); do
  case $id in mkimage-*) pid=${id#mkimage-}; pid=${pid%%-*};
    [[ " ${killed_pids[*]} " == *" $pid "* ]] && ! kill -0 "$pid" 2>/dev/null && left=$((left + 1));; esac
done
[ $left = 0 ] || fail "$left runtime containers of killed builds left"
"$MKIMAGE" store check $deep >log.check 2>&1 || { cat log.check; fail "store check $deep failed at the end"; }

# A live build is not disturbed by another process opening the store.
cat >live.Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo started && sleep 3 && echo live > /live
DF
"$MKIMAGE" build --progress plain -f live.Dockerfile --output type=local,dest=out-live run >log.live 2>&1 &
live=$!
for _ in $(seq 1 100); do grep -q '^#[0-9]* [0-9.]* started' log.live && break; sleep 0.1; done
grep -q started log.live || { kill -9 $live; cat log.live; fail "the live build's RUN never started"; }
before=$(mounts | wc -l)
[ "$before" -gt 0 ] || { kill -9 $live; fail "the live build has no mount under the root"; }
"$MKIMAGE" images >/dev/null 2>log.images || { kill -9 $live; cat log.images; fail "mkimage images failed during a build"; }
"$MKIMAGE" store check >/dev/null 2>&1 || true
[ "$(mounts | wc -l)" = "$before" ] || { kill -9 $live; fail "opening the store changed the live build's mounts"; }
[ -n "$(ls -A "$ROOT/tmp/active")" ] || { kill -9 $live; fail "opening the store removed the live build's snapshot"; }
wait $live || { cat log.live; fail "the live build failed after another process opened the store"; }
is out-live/live "live
"

echo "$TEST: $ITERATIONS iterations in $(($(date +%s) - t0)) s: $killed killed ($finished finished first);" \
  "$found left temporaries ($found_mounts with mounts, $orphans_found with a runtime container running), all removed by the next store open"
pass
