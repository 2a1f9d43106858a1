#!/usr/bin/env bash
# bench/goals: the demo app (testdata/goals-app: FROM node, COPY package.json,
# RUN npm install, COPY . /app) built cold and after editing one file (server.js),
# side by side in one run with docker 20.10's BuildKit on the same base image.
# Prints the times, their medians and the ratios (docs/performance.md keeps the
# last results).
#
#   bench/goals/run.sh [MKIMAGE_BINARY]     (default build/mkimage; root needed)
#   MKIMAGE_ROOT   store holding node:latest (default /var/lib/mkimage), made by
#                  scripts/demo.sh. Only read: node:latest is copied into a scratch
#                  store (mkimage save | mkimage load) and loaded into a private
#                  dockerd (own data-root under the temp dir) from the same
#                  archive, so both builders start from the identical base image
#                  (same image ID, checked).
#   RUNS=N         rounds (default 3; medians reported). Each round: mkimage cold
#                  (--no-cache), mkimage edit, BuildKit cold (builder prune -af +
#                  --no-cache), BuildKit edit. Interleaved, so drift in network
#                  speed or machine load hits both builders alike. A first
#                  round (printed, left out of the medians) warms both up.
# `RUN npm install` needs the npm registry (--network=host for BuildKit; the
# base image trusts the machine's CA bundle, see testdata/node-base).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-3}
store=${MKIMAGE_ROOT:-/var/lib/mkimage}
DOCKER=/usr/bin/docker
[ "$(id -u)" = 0 ] || { echo "bench/goals: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "bench/goals: $mk is not built" >&2; exit 1; }
command -v dockerd >/dev/null || { echo "bench/goals: dockerd is not installed" >&2; exit 1; }
"$mk" --root "$store" image inspect node:latest >/dev/null 2>&1 ||
  { echo "bench/goals: $store holds no node:latest (run scripts/demo.sh first)" >&2; exit 1; }

W=$(mktemp -d /tmp/mkimage-bench-goals.XXXXXX)
dockerd_pid=
cleanup() {
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 75); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
die() { echo "bench/goals: $*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
edit() { echo "// bench edit $(date +%s.%N)" >>"$W/app/server.js"; }

# check_edit LOG: the edit rebuild took COPY package.json and RUN npm install from
# the cache and ran COPY . /app again (same log format for both builders)
check_edit() {
  [ "$(python3 "$src/scripts/step_cached.py" "$1" "COPY package.json")" = CACHED ] &&
    [ "$(python3 "$src/scripts/step_cached.py" "$1" "RUN npm install")" = CACHED ] &&
    [ "$(python3 "$src/scripts/step_cached.py" "$1" "COPY . /app")" = RAN ]
}

echo "bench/goals: $(git -C "$src" log -1 --format='%h %s' 2>/dev/null)"
echo "bench/goals: build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$mk")/CMakeCache.txt" 2>/dev/null)"
echo "bench/goals: load at start:$(uptime | sed 's/.*load average:/ /')"

# --- the same base image in both -----------------------------------------------
"$mk" --root "$store" save -o "$W/node.tar" node:latest || die "mkimage save node:latest"
t0=$(now)
"$mk" --root "$W/mk-root" load -q -i "$W/node.tar" || die "mkimage load node.tar"
mk_load=$(elapsed "$t0" "$(now)")
base_id=$("$mk" --root "$W/mk-root" image inspect --format '{{.Id}}' node:latest) || die "no node:latest in the scratch store"

export DOCKER_HOST=unix://$W/docker.sock
dockerd --iptables=false --bridge=none --data-root "$W/docker" --exec-root "$W/exec" \
  --pidfile "$W/docker.pid" -H "$DOCKER_HOST" >"$W/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 100); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.3; done
"$DOCKER" info >/dev/null 2>&1 || { tail -5 "$W/dockerd.log" >&2; die "dockerd did not start"; }
t0=$(now)
"$DOCKER" load -q -i "$W/node.tar" >/dev/null || die "docker load node.tar"
bk_load=$(elapsed "$t0" "$(now)")
rm -f "$W/node.tar"
did=$("$DOCKER" image inspect --format '{{.Id}}' node:latest) || die "docker has no node:latest"
[ "$did" = "$base_id" ] || die "base images differ: docker $did, mkimage $base_id"
echo "bench/goals: node:latest $base_id in both (docker $("$DOCKER" version --format '{{.Server.Version}}'))"
echo "bench/goals: loading node:latest: mkimage load ${mk_load}s (blobs only; layers are unpacked at first use), docker load ${bk_load}s (unpacks)"

cp -a "$src/testdata/goals-app" "$W/app"

mk_build() { "$mk" --root "$W/mk-root" build --progress plain "$@" -t goals-bench:latest "$W/app" >"$W/log" 2>&1; }
bk_build() { DOCKER_BUILDKIT=1 "$DOCKER" build --network=host --progress plain "$@" -t goals-bench:latest "$W/app" >"$W/log" 2>&1; }
bk_prune() {
  "$DOCKER" rmi -f goals-bench:latest >/dev/null 2>&1
  "$DOCKER" builder prune -af >/dev/null 2>&1
}
# timed TOOL KIND COMMAND...: runs, checks, records the wall time in $t
timed() {
  local tool=$1 kind=$2 t0 t1; shift 2
  t0=$(now)
  "$@" || { tail -30 "$W/log" >&2; die "$tool $kind build failed"; }
  t1=$(now)
  t=$(elapsed "$t0" "$t1")
  if [ "$kind" = edit ]; then check_edit "$W/log" || die "$tool: edit rebuild did not use the cache as expected"; fi
  echo "  round $round $tool $kind: ${t}s"
}

# Round 0 warms up and is left out of the medians: mkimage unpacks the base
# image's layers on first use (docker did that at `docker load`), and the first
# BuildKit build starts its workers.
round=0
timed mkimage first mk_build --no-cache
timed buildkit first bk_build --no-cache
mk_cold=(); mk_edit=(); bk_cold=(); bk_edit=()
for round in $(seq 1 "$RUNS"); do
  timed mkimage cold mk_build --no-cache; mk_cold+=("$t")
  edit
  timed mkimage edit mk_build; mk_edit+=("$t")
  bk_prune
  timed buildkit cold bk_build --no-cache; bk_cold+=("$t")
  edit
  timed buildkit edit bk_build; bk_edit+=("$t")
done
echo "bench/goals: load at end:$(uptime | sed 's/.*load average:/ /')"

mc=$(median "${mk_cold[@]}"); me=$(median "${mk_edit[@]}")
bc=$(median "${bk_cold[@]}"); be=$(median "${bk_edit[@]}")
printf '%-10s %10s %10s\n' builder cold_s edit_s
printf '%-10s %10s %10s\n' mkimage "$mc" "$me"
printf '%-10s %10s %10s\n' buildkit "$bc" "$be"
python3 -c "print(f'mkimage/buildkit: cold {$mc/$bc:.2f}x  edit {$me/$be:.2f}x  (below 1 = mkimage faster; medians of $RUNS)')"
