#!/usr/bin/env bash
# The cache bound under concurrency (docs/cache.md): with cache.max-size below
# the working set, rounds of 8 concurrent builds race `cache prune`, `image
# prune` and `rmi` on one store. Every build succeeds, no image is left with a
# missing blob (`store check --deep` clean, every image saves), and when a
# round's builds are done the store (blobs + snapshots, du -sb) is under the
# bound plus the largest layer. The store is also measured after each build,
# while the round's other builds still hold what they made (reported).
#
# Each build makes a ~1 MiB layer of its own every round in a builder stage;
# the final images are small (base + a COPY --from of a few bytes), so the
# images stay well under the bound and the cache is what must be bounded.
# Env: BUILDS (default 96, 8 per round).
. "$(dirname "$0")/race.inc"  # (before build_helpers.inc, which enters the scratch directory)
. "$(dirname "$0")/../e2e/build_helpers.inc"
BUILDS=${BUILDS:-96}
disk() { du -sb "$MKIMAGE_ROOT/blobs/sha256" "$MKIMAGE_ROOT/snapshots" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

ctx app
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' >app/Dockerfile.base
for i in 1 2 3 4 5 6 7 8; do
  {
    printf 'FROM base AS build\nARG ROUND\n'
    printf 'RUN echo shared >/shared\n'
    printf 'RUN dd if=/dev/urandom of=/big bs=64k count=16 2>/dev/null && echo "%s $ROUND" >/small\n' "$i"
    printf 'FROM base\nCOPY --from=build /small /small\n'
  } >"app/Dockerfile.$i"
done
b base -t base -f app/Dockerfile.base app
base_bytes=$(disk)
largest=$((2 * 1024 * 1024 + 65536))  # the 1 MiB layer: blob + snapshot, plus directory entries
bound=$((base_bytes + 6 * 1024 * 1024))
printf '{"cache": {"max-size": "%s"}}\n' "$bound" >"$MKIMAGE_ROOT/config.json"
echo "$TEST: base image $base_bytes bytes, cache.max-size $bound bytes, a round makes ~$((8 * 2)) MiB"

racer() {
  local n=0
  while [ ! -e stop ]; do
    n=$((n + 1))
    # (no prune down to nothing: the bound after each build must do the work)
    "$MKIMAGE" rmi "t$((RANDOM % 8 + 1))" >>log.race 2>&1
    "$MKIMAGE" image prune -f >>log.race 2>&1
    if [ $((n % 2)) = 0 ]; then "$MKIMAGE" cache prune -f --filter until=2s >>log.race 2>&1
    else "$MKIMAGE" cache prune -f --keep-storage "$bound" >>log.race 2>&1; fi
    "$MKIMAGE" system df >>log.race 2>&1
    sleep 0.5
  done
  echo "$n" >racer.rounds
}
start_racer
after_build() {
  local d
  d=$(disk)
  [ "$d" -gt "$max_build" ] && max_build=$d
}
start=$(date +%s)
over=0 max_build=0 max_round=0
while [ "$built" -lt "$BUILDS" ]; do
  build_round
  d=$(disk)
  [ "$d" -gt "$max_round" ] && max_round=$d
  if [ "$d" -gt $((bound + largest)) ]; then
    over=$((over + 1))
    echo "round $round: the store takes $d bytes, over $bound + $largest"
    "$MKIMAGE" cache du
  fi
done
stop_racer
elapsed=$(( $(date +%s) - start ))
echo "$TEST: $built builds in $round rounds, $failed failed, $(cat racer.rounds) racer rounds, ${elapsed}s;" \
  "bound $bound + largest layer $largest; largest store after a round $max_round, after a build (others running) $max_build"
[ "$failed" = 0 ] || fail "$failed of $((built + failed)) builds failed"
[ "$over" = 0 ] || fail "the store exceeded the bound plus the largest layer after $over of $round rounds"
grep -q 'WARNING: cache garbage collection failed' log.[0-9]* && { grep -h 'WARNING: cache garbage' log.[0-9]* | head; fail "GC warnings"; }
assert_no_sqlite_text
grep -q 'Total reclaimed space' log.race || fail "no prune ran"

"$MKIMAGE" store check --deep >log.check 2>&1 || { cat log.check; fail "store check --deep"; }
grep -qE '^(missing|corrupt)' log.check && { cat log.check; fail "store check found damage"; }
for id in $("$MKIMAGE" images -q --no-trunc | sort -u); do
  "$MKIMAGE" save -o img.tar "$id" >log.save 2>&1 || { cat log.save; fail "save $id"; }
done
b after -t t1 --build-arg ROUND=after -f app/Dockerfile.1 app
"$MKIMAGE" run --rm t1 cat /small >log.small 2>&1 && grep -qx '1 after' log.small || { cat log.small; fail "t1 after the race"; }
pass
