#!/usr/bin/env bash
# Builds racing `image prune -a -f` and `rmi` on one store: every build
# succeeds (what a running build resolved or created is held by its lease),
# every image still present at the end is complete (`store check` clean, save
# and inspect work), and no output carries SQLite's text.
#
# 8 Dockerfiles on one base image share a step, two more pairwise, and each
# has its own; a per-round build arg makes one shared step and one own step
# miss every round, so layers are committed while images holding the same
# layers are being deleted. Env: BUILDS (default 104, 8 per round).
. "$(dirname "$0")/race.inc"  # (before build_helpers.inc, which enters the scratch directory)
. "$(dirname "$0")/../e2e/build_helpers.inc"
BUILDS=${BUILDS:-104}
ctx app
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' >app/Dockerfile.base
for i in 1 2 3 4 5 6 7 8; do
  {
    printf 'FROM base\nARG ROUND\n'
    printf 'RUN echo shared >/shared\n'
    printf 'RUN echo pair-%s >/pair\n' $((i % 2))
    printf 'RUN echo "round $ROUND" >/round\n'
    printf 'RUN echo own-%s >/own\n' "$i"
    printf 'RUN echo "own-%s round $ROUND" >/own-round\n' "$i"
    printf 'COPY Dockerfile.%s /df\n' "$i"
  } >"app/Dockerfile.$i"
done
b base -t base -f app/Dockerfile.base app
# The base stays: an (exited) container uses it, as docker's prune -a keeps it.
"$MKIMAGE" run --name pin base /bin/true >log.pin 2>&1 || { cat log.pin; fail "run pin"; }
base_id=$("$MKIMAGE" images -q base)

# The racer: prune -a -f and rmi (by name, and by ID with -f) until told to stop.
racer() {
  local n=0 id
  while [ ! -e stop ]; do
    n=$((n + 1))
    "$MKIMAGE" image prune -a -f >>log.race 2>&1
    "$MKIMAGE" rmi "t$((RANDOM % 8 + 1))" >>log.race 2>&1
    # (rmi -f deletes an image a container uses: not the base's)
    id=$("$MKIMAGE" images -q 2>>log.race | grep -vx "$base_id" | shuf -n 1 2>/dev/null)
    if [ -n "$id" ] && [ "$(( n % 3 ))" = 0 ]; then "$MKIMAGE" rmi -f "$id" >>log.race 2>&1; fi
  done
  echo "$n" >racer.rounds
}
start_racer
start=$(date +%s)
while [ "$built" -lt "$BUILDS" ]; do build_round; done
stop_racer
elapsed=$(( $(date +%s) - start ))
echo "$TEST: $built builds in $round rounds, $failed failed, $(cat racer.rounds) prune/rmi rounds, ${elapsed}s"
[ "$failed" = 0 ] || fail "$failed of $((built + failed)) builds failed"

# No SQLite text anywhere (the statements or SQLite's own messages).
assert_no_sqlite_text 'constraint failed|FOREIGN KEY|database is locked|SQLITE|sqlite|(SELECT|INSERT|UPDATE|DELETE) '
[ -s log.race ] || fail "the racer printed nothing"
grep -q 'Total reclaimed space' log.race || fail "no prune ran"

# What is left is complete.
"$MKIMAGE" store check >log.check 2>&1 || { cat log.check; fail "store check"; }
grep -qE '^(missing|corrupt)' log.check && { cat log.check; fail "store check found damage"; }
for id in $("$MKIMAGE" images -q --no-trunc | sort -u); do
  "$MKIMAGE" image inspect "$id" >log.inspect 2>&1 || { cat log.inspect; fail "inspect $id"; }
  "$MKIMAGE" save -o img.tar "$id" >log.save 2>&1 || { cat log.save; fail "save $id"; }
done
# A build after the race uses what is there (and prune can still empty the store).
b after -t t1 --build-arg ROUND=after -f app/Dockerfile.1 app
"$MKIMAGE" image prune -a -f >log.prune 2>&1 || { cat log.prune; fail "final prune"; }
"$MKIMAGE" store check >log.check 2>&1 || { cat log.check; fail "store check after the final prune"; }
pass
