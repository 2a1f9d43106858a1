#!/usr/bin/env bash
# bench/build: cold build, warm rebuild (everything cached) and edit-one-file
# rebuild of testdata/cache-order (Dockerfile.ordered), side by side in one run
# with docker 20.10's BuildKit and `buildah bud --layers`. Prints a table and the
# ratios (docs/performance.md keeps the last results).
#
#   bench/build/run.sh [MKIMAGE_BINARY]     (default build/mkimage; root needed)
#   RUNS=N   repetitions of warm/edit builds (median reported; default 5)
#   TOOLS="mkimage buildkit buildah"        which builders to run
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-5}
TOOLS=${TOOLS:-"mkimage buildkit buildah"}
[ "$(id -u)" = 0 ] || { echo "bench/build: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "bench/build: $mk is not built" >&2; exit 1; }

W=$(mktemp -d /tmp/mkimage-bench-build.XXXXXX)
started_dockerd=
cleanup() {
  [ -n "$started_dockerd" ] && kill "$started_dockerd" 2>/dev/null && wait "$started_dockerd" 2>/dev/null
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
cp -a "$src/testdata/cache-order" "$W/app"
cp /bin/busybox "$W/app/busybox"
DF=$W/app/Dockerfile.ordered

# Timestamps come from bash's $EPOCHREALTIME (no fork inside the timed window:
# a `date` process would add a millisecond or two to a 20 ms warm rebuild).
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
edit() { echo "echo edit $RANDOM$RANDOM" >>"$W/app/src/util.sh"; }

# build_TOOL: one build of the app; output to $W/log.TOOL
build_mkimage() { "$mk" --root "$W/mk-root" build --progress plain -f "$DF" -t bench:latest "$W/app" >"$W/log.mkimage" 2>&1; }
cold_mkimage() { rm -rf "$W/mk-root"; }

build_buildkit() { DOCKER_BUILDKIT=1 /usr/bin/docker build --network=host --progress plain -f "$DF" -t bench:latest "$W/app" >"$W/log.buildkit" 2>&1; }
cold_buildkit() {
  /usr/bin/docker rmi -f bench:latest >/dev/null 2>&1
  /usr/bin/docker builder prune -af >/dev/null 2>&1
}
# a private dockerd (own data-root, exec-root and socket under $W): the machine's
# /var/lib/docker and its build cache are left alone
setup_buildkit() {
  command -v dockerd >/dev/null || return 1
  export DOCKER_HOST=unix://$W/docker.sock
  dockerd --iptables=false --bridge=none --data-root "$W/docker" --exec-root "$W/exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" >"$W/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do /usr/bin/docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "bench/build: dockerd did not start:" >&2
  tail -5 "$W/dockerd.log" >&2
  return 1
}

build_buildah() { buildah --root "$W/bh-root" --runroot "$W/bh-run" bud --layers --network host -f "$DF" -t bench:latest "$W/app" >"$W/log.buildah" 2>&1; }
cold_buildah() {
  [ -d "$W/bh-root" ] && buildah --root "$W/bh-root" --runroot "$W/bh-run" rmi -af >/dev/null 2>&1
  rm -rf "$W/bh-root" "$W/bh-run" 2>/dev/null
}
setup_buildah() { command -v buildah >/dev/null; }
setup_mkimage() { true; }

echo "bench/build: $(git -C "$src" log -1 --format='%h %s' 2>/dev/null)"
echo "bench/build: build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$mk")/CMakeCache.txt" 2>/dev/null)"
echo "bench/build: load at start:$(uptime | sed 's/.*load average:/ /')"
declare -A COLD WARM EDIT WARMS EDITS CACHED
# cached_TOOL: how many steps the last build took from the cache (from its log)
cached_mkimage() { grep -c '^#[0-9]* CACHED' "$W/log.mkimage"; }
cached_buildkit() { grep -c '^#[0-9]* CACHED' "$W/log.buildkit"; }
cached_buildah() { grep -c 'Using cache' "$W/log.buildah"; }
ready=()
for t in $TOOLS; do
  if ! "setup_$t"; then echo "bench/build: $t unavailable, skipped" >&2; continue; fi
  "cold_$t"
  t0=$EPOCHREALTIME; "build_$t" || { echo "bench/build: $t cold build failed:" >&2; tail -20 "$W/log.$t" >&2; continue; }; t1=$EPOCHREALTIME
  COLD[$t]=$(elapsed "$t0" "$t1")
  ready+=("$t")
done
# Rounds interleave the builders, so each round's machine conditions are shared:
# every builder's warm rebuild of the current tree, then one edit, then every
# builder's rebuild after the edit.
for _ in $(seq 1 "$RUNS"); do
  for t in "${ready[@]}"; do
    t0=$EPOCHREALTIME; "build_$t"; t1=$EPOCHREALTIME
    WARMS[$t]+=" $(elapsed "$t0" "$t1")"
    CACHED[$t]=$("cached_$t")
  done
  edit
  for t in "${ready[@]}"; do
    t0=$EPOCHREALTIME; "build_$t"; t1=$EPOCHREALTIME
    EDITS[$t]+=" $(elapsed "$t0" "$t1")"
  done
done
for t in "${ready[@]}"; do
  # shellcheck disable=SC2086
  WARM[$t]=$(median ${WARMS[$t]})
  # shellcheck disable=SC2086
  EDIT[$t]=$(median ${EDITS[$t]})
  echo "bench/build: $t warm samples:${WARMS[$t]} (last warm build: ${CACHED[$t]} steps cached)"
  echo "bench/build: $t edit samples:${EDITS[$t]}"
  "cold_$t"
done
echo "bench/build: load at end:$(uptime | sed 's/.*load average:/ /')"
printf '%-10s %10s %10s %10s\n' builder cold_s warm_s edit_s
for t in $TOOLS; do
  [ -n "${COLD[$t]:-}" ] || continue
  printf '%-10s %10s %10s %10s\n' "$t" "${COLD[$t]}" "${WARM[$t]}" "${EDIT[$t]}"
done
if [ -n "${COLD[mkimage]:-}" ]; then
  for t in buildkit buildah; do
    [ -n "${COLD[$t]:-}" ] || continue
    python3 - "$t" "${COLD[mkimage]}" "${WARM[mkimage]}" "${EDIT[mkimage]}" "${COLD[$t]}" "${WARM[$t]}" "${EDIT[$t]}" <<'PY'
import sys
t, mc, mw, me, oc, ow, oe = sys.argv[1], *map(float, sys.argv[2:])
print(f"mkimage/{t}: cold {mc/oc:.2f}x  warm {mw/ow:.2f}x  edit {me/oe:.2f}x  (below 1 = mkimage faster)")
PY
  done
fi
