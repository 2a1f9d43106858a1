#!/usr/bin/env bash
# bench/cache-fleet: a CI fleet of 4 machines building the 20 commits of a small
# multi-stage app, with and without a build cache shared through a registry
# (127.0.0.1 docker-registry, no auth), and docker 20.10's BuildKit with an
# inline cache for comparison. Prints a table and writes it to $OUT.
#
#   bench/cache-fleet/run.sh [MKIMAGE_BINARY]   (default build/mkimage; root needed)
#   RUNS=N          rounds of every scenario (sums of the median round; default 1)
#   SCENARIOS="shared local ephemeral docker"   which rows to run
#   MACHINES=4      machines in the fleet
#   OUT=FILE        results file (default bench/cache-fleet/results.txt, not committed)
#
# The app (generated): builder stage FROM base, COPY deps.txt, RUN "install"
# (1 s, writes 4 MiB of incompressible bytes under /deps), COPY src, RUN "compile"
# (0.5 s, /out/app from the sources); final stage FROM base, COPY --from=builder
# /deps and /out/app, RUN a small step, COPY config.txt. 8 steps per build
# besides the two FROMs. The base image is a busybox image in the registry,
# pinned by digest in the Dockerfile (FROM R/base@sha256:...).
# The history (20 commits): 1 the first commit; one source file edited in
# most; 4, 10, 17 change nothing in the build context (a README.md edit, the
# README is in .dockerignore); 8 bumps a dependency (deps.txt); 14 moves the
# base image to a new digest (base:1.36 re-pushed with another layer, pin bumped).
#
# The fleet: commit k is built on machine k mod MACHINES, in commit order, one
# build at a time (each push starts one CI job that ends before the next push;
# a runner gets every 4th job, so its own store is 4 commits behind). Every
# machine has its own store root (MKIMAGE_ROOT) and its own checkout path (a
# fresh copy of the commit, new mtimes, as a CI checkout).
# Rows (each on a new registry with the base image pushed, and empty stores):
#   shared     4 persistent machines; every build
#              --cache-from type=registry,ref=R/app-cache:main
#              --cache-to type=registry,ref=R/app-cache:main,mode=max
#   local      4 persistent machines, no shared cache (each its own store only)
#   ephemeral  the shared cache, but every build on a fresh machine (empty store),
#              as hosted CI runners
#   docker     docker 20.10 BuildKit, inline cache, every build on a fresh machine:
#              docker builder prune -af and every image removed before each build
#              (one private dockerd), then
#              DOCKER_BUILDKIT=1 docker build --network=host --build-arg
#              BUILDKIT_INLINE_CACHE=1 --cache-from R/app:latest -t R/app:latest .
#              && docker push R/app:latest (the image is the cache: inline = mode=min)
# Per build: steps cached locally / from the remote cache / run (mkimage's plain
# progress: "#N CACHED" / "#N CACHED (remote REF)"; BuildKit's "#N CACHED"
# counts as remote, its store being empty), bytes up, bytes down, wall time.
#   bytes up   registry side: bytes of blobs (layers, configs, manifests) new in
#              the registry's storage after the build (a blob the client skips
#              after a HEAD or mounts costs nothing and counts nothing); for
#              mkimage also the export line's "N blobs written (B bytes)"
#   bytes down registry side: the access log's response sizes of every GET (200
#              or 206) during the build; "base" = GETs under /v2/base/
#   time       wall time of the build (+ docker push for the docker row)
# hit rate = cached steps / all steps (8 per build). A step BuildKit never
# prints (not needed for the result) counts as cached.
# A shared-cache build that fails is retried at once without --cache-from (its
# time counts both attempts; the failed log is kept and its first ERROR line is
# listed under the table; column "failed").
# After the shared row, on the machine that built the last commit:
#   no-op export   the last commit built again: "cache is up to date" and the
#                  export step's time, against one manifest GET (curl's time_total)
#   one-layer      config.txt edited (only the last layer changes): the export
#                  line's bytes against the new layer's gzip size + the records
#                  (the new blobs in the registry)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-1}
SCENARIOS=${SCENARIOS:-"shared local ephemeral docker"}
MACHINES=${MACHINES:-4}
OUT=${OUT:-$here/results.txt}
NCOMMITS=20
REGPY=$src/tests/registry/registry.py
DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
die() { echo "bench/cache-fleet: $*" >&2; exit 1; }
say() { echo "bench/cache-fleet: $*"; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$mk" ] || die "$mk is not built"
[ -x /usr/bin/docker-registry ] || die "docker-registry is not installed (scripts/deps.sh)"
[ -x /bin/busybox ] || die "/bin/busybox (busybox-static) is not installed"
command -v runc >/dev/null || die "runc is not installed"
# talk to 127.0.0.1 directly, whatever proxy the machine has
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

W=$(mktemp -d /tmp/mkimage-bench-cache-fleet.XXXXXX)
export DOCKER_CONFIG=$W/docker-config # no credentials of the machine's user
mkdir -p "$DOCKER_CONFIG"
started_dockerd=
cleanup() {
  local _
  [ -e "$W/reg/registry.pid" ] && python3 "$REGPY" stop --dir "$W/reg" >/dev/null 2>&1
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.2; done
  fi
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  [ -n "${KEEP:-}" ] && { echo "bench/cache-fleet: kept $W"; return; }
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

commit=$(git -C "$src" log -1 --format=%h 2>/dev/null)
say "$(git -C "$src" log -1 --format='%h %s' 2>/dev/null | cut -c1-100)"
say "build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$mk")/CMakeCache.txt" 2>/dev/null), work dir $W"
cp "$mk" "$W/mkimage" || die "cannot copy $mk"
mk=$W/mkimage
export MKIMAGE_ROOT=$W/seed # base images are made here

# --- the registry: a new one per row; R=127.0.0.1:PORT, RLOG its log ----------
reg_fresh() {
  local port
  [ -e "$W/reg/registry.pid" ] && python3 "$REGPY" stop --dir "$W/reg" >/dev/null
  rm -rf "$W/reg"
  port=$(python3 "$REGPY" start --dir "$W/reg" --auth none --lifetime 7200) || die "the registry did not start"
  R=127.0.0.1:$port
  RLOG=$W/reg/registry.log
}
# blob_list: "digest size" of every blob in the registry's storage, sorted
blob_list() {
  find "$W/reg/data/docker/registry/v2/blobs" -name data -type f -printf '%h %s\n' 2>/dev/null |
    sed 's|.*/||' | sort
}
# new_blob_bytes BEFORE AFTER: bytes of the blobs in AFTER and not in BEFORE
new_blob_bytes() { comm -13 "$1" "$2" | awk '{s += $2} END {print s + 0}'; }
# log_bytes_down FROM_LINE: "all base" bytes of GET 200/206 responses in the
# access log after line FROM_LINE
log_bytes_down() {
  tail -n +"$(($1 + 1))" "$RLOG" | awk '
    /^[0-9.]+ - .*"GET / {
      n = split($0, q, "\""); split(q[3], st, " ")
      if (st[1] != 200 && st[1] != 206) next
      split(q[2], rq, " "); all += st[2]; if (rq[2] ~ /^\/v2\/base\//) base += st[2]
    }
    END { print all + 0, base + 0 }'
}
log_lines() { wc -l <"$RLOG"; }
manifest_digest() { # REPO TAG
  curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$R/v2/$1/manifests/$2" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# --- base images: busybox rootfs, v1 and v2 (another /etc/motd: another layer) ---
mk_base() { # NAME MARKER
  local r=$W/bb-rootfs
  rm -rf "$r" && mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  printf 'base %s\n' "$2" >"$r/etc/motd"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$r.tar" . || die "tar of the base rootfs failed"
  "$mk" import "$r.tar" "$1" -c 'CMD ["/bin/sh"]' >/dev/null || die "mkimage import $1 failed"
  rm -rf "$r" "$r.tar"
}
mk_base base:v1 v1
mk_base base:v2 v2
# push_bases: both versions to the current registry as base:1.36 (v2 last, as
# the new release of the tag); sets BASE1, BASE2 (digests)
push_bases() {
  "$mk" tag base:v1 "$R/base:1.36" && "$mk" push -q "$R/base:1.36" >/dev/null || die "push base v1"
  BASE1=$(manifest_digest base 1.36)
  "$mk" tag base:v2 "$R/base:1.36" && "$mk" push -q "$R/base:1.36" >/dev/null || die "push base v2"
  BASE2=$(manifest_digest base 1.36)
  [ -n "$BASE1" ] && [ -n "$BASE2" ] && [ "$BASE1" != "$BASE2" ] || die "base digests: '$BASE1' '$BASE2'"
}

# --- the history: snapshots H/c01..c20 of the app for registry R ---------------
KIND=()
for k in $(seq 1 $NCOMMITS); do
  case $k in
    1) KIND[k]=first ;;
    4 | 10 | 17) KIND[k]=noop ;;
    8) KIND[k]=deps ;;
    14) KIND[k]=base ;;
    *) KIND[k]=src ;;
  esac
done
make_history() {
  local H=$W/history k prev f n base=$BASE1 deps=1
  rm -rf "$H" && mkdir -p "$H/c00/src"
  prev=$H/c00
  printf 'README.md\n' >"$prev/.dockerignore"
  printf '# app\n' >"$prev/README.md"
  printf 'listen=8080\n' >"$prev/config.txt"
  for f in main util net db; do printf '/* %s.c */\nint %s_version = 0;\n' $f $f >"$prev/src/$f.c"; done
  for k in $(seq 1 $NCOMMITS); do
    cp -a "$prev" "$H/c$(printf %02d "$k")"
    prev=$H/c$(printf %02d "$k")
    case ${KIND[k]} in
      first) ;;
      noop) printf 'docs for commit %d\n' "$k" >>"$prev/README.md" ;;
      deps) deps=2 ;;
      base) base=$BASE2 ;;
      src) f=(main util net db); n=${f[k % 4]}; printf 'int %s_change_%d = %d;\n' "$n" "$k" "$k" >>"$prev/src/$n.c" ;;
    esac
    printf 'libfoo==1.%d.0\nlibbar==2.3.1\n' "$deps" >"$prev/deps.txt"
    cat >"$prev/Dockerfile" <<DF
FROM $R/base@$base AS builder
COPY deps.txt /deps.txt
RUN ["/bin/busybox", "sh", "-c", "sleep 1 && mkdir -p /deps && cp /deps.txt /deps/ && head -c 4194304 /dev/urandom > /deps/lib.so"]
COPY src /src
RUN ["/bin/busybox", "sh", "-c", "sleep 0.5 && mkdir -p /out && cat /src/*.c | md5sum > /out/app && cat /src/*.c >> /out/app"]
FROM $R/base@$base
COPY --from=builder /deps /app/deps
COPY --from=builder /out/app /app/bin/app
RUN ["/bin/busybox", "sh", "-c", "wc -c /app/bin/app > /app/size && echo ok > /app/health"]
COPY config.txt /app/config.txt
DF
  done
  rm -rf "$H/c00"
}
checkout() { # K DIR: a fresh checkout of commit K in DIR (new mtimes)
  rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -r "$W/history/c$(printf %02d "$1")" "$2"
}

# steps LOG: "cached_local cached_remote ran total" of a --progress plain log
# (mkimage's or BuildKit's), 8 steps per build; export line bytes (or -)
steps() {
  python3 - "$1" <<'PY'
import re, sys
names, cached, remote = {}, set(), set()
exported = "-"
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"#(\d+) (.*)$", line.rstrip("\n"))
    if not m:
        continue
    n, rest = m.groups()
    if rest.strip() == "CACHED":
        cached.add(n)
    elif rest.startswith("CACHED (remote "):
        remote.add(n)
    elif rest.startswith("[") and not rest.startswith("[internal]") and n not in names:
        names[n] = rest
    e = re.search(r"(\d+) blobs written \((\d+) bytes\)", rest)
    if e:
        exported = e.group(2)
    elif "cache is up to date" in rest:
        exported = "0"
steps = {n: t for n, t in names.items() if not re.search(r"\] FROM ", t)}
ran = sum(1 for n in steps if n not in cached and n not in remote)
total = 8
if len(steps) > total:
    sys.exit(f"{sys.argv[1]}: {len(steps)} steps, want at most {total}")
n_remote = sum(1 for n in steps if n in remote)
# a step never printed (BuildKit: not needed for the result) did not run
print(total - ran - n_remote, n_remote, ran, total, exported)
PY
}

declare -A T # T[row.k]="local remote ran total exported up down base secs"
# one_build ROW K LABEL CMD...: runs CMD (logged in W/logs/ROW.K), records T[ROW.K]
one_build() {
  local row=$1 k=$2; shift 2
  local log=$W/logs/$row.$(printf %02d "$k") l0 t0 t1 st dn
  mkdir -p "$W/logs"
  rm -f "$W/failed"
  CUR=$row.$(printf %02d "$k")
  blob_list >"$W/blobs.before"
  l0=$(log_lines)
  sync
  t0=$EPOCHREALTIME
  "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "$row build of commit $k failed (log $log)"; }
  t1=$EPOCHREALTIME
  sleep 0.3 # the registry writes its access log line after the response
  blob_list >"$W/blobs.after"
  st=$(steps "$log") || die "parsing $log failed"
  dn=$(log_bytes_down "$l0")
  T[$row.$k]="$st $(new_blob_bytes "$W/blobs.before" "$W/blobs.after") $dn $(python3 -c "print(f'{$t1 - $t0:.3f}')") $([ -e "$W/failed" ] && echo 1 || echo 0)"
}
mk_build() { # MACHINE_ROOT DIR [cache args...]
  local root=$1 dir=$2; shift 2
  MKIMAGE_ROOT=$root "$mk" build --progress plain -t app:ci "$@" "$dir"
}
# mk_build_shared MACHINE_ROOT DIR: the build with the shared cache; if it fails,
# the failed log is kept (W/logs/failed.ROW.K, first ERROR line in W/failures)
# and the job is retried without --cache-from (as a CI retry would be made to
# pass), in the same timed window; only the retry's steps are counted
mk_build_shared() {
  local root=$1 dir=$2 tmp=$W/attempt.log
  if mk_build "$root" "$dir" "${CACHE_ARGS[@]}" >"$tmp" 2>&1; then cat "$tmp"; return 0; fi
  cp "$tmp" "$W/logs/failed.$CUR"
  echo "$CUR: $(grep -m1 'ERROR' "$tmp" | cut -c1-300)" >>"$W/failures"
  touch "$W/failed"
  mk_build "$root" "$dir" "${CACHE_ARGS[@]:2}"
}
CACHE_ARGS=()
set_cache_args() {
  CACHE_ARGS=(--cache-from "type=registry,ref=$R/app-cache:main"
              --cache-to "type=registry,ref=$R/app-cache:main,mode=max")
}

row_mkimage() { # ROW: shared | local | ephemeral
  local row=$1 k m root dir
  reg_fresh
  push_bases
  make_history
  set_cache_args
  rm -rf "$W/fleet"
  for k in $(seq 1 $NCOMMITS); do
    m=$((k % MACHINES))
    root=$W/fleet/m$m/store
    dir=$W/fleet/m$m/ci-$k/app # each job its own checkout path
    checkout "$k" "$dir"
    [ "$row" = ephemeral ] && rm -rf "$root"
    case $row in
      local) one_build "$row" "$k" mk_build "$root" "$dir" ;;
      *) one_build "$row" "$k" mk_build_shared "$root" "$dir" ;;
    esac
    rm -rf "$(dirname "$dir")"
    say "$row commit $k (${KIND[k]}) on m$m: ${T[$row.$k]}"
  done
}

# no-op export and one-layer change, after the shared row, on the last machine
NOOP=() ONE=()
extra_exports() {
  local m=$((NCOMMITS % MACHINES)) root dir log rt b0 t0 t1
  root=$W/fleet/m$m/store
  dir=$W/fleet/m$m/again/app
  checkout "$NCOMMITS" "$dir"
  log=$W/logs/noop-export
  t0=$EPOCHREALTIME
  mk_build "$root" "$dir" "${CACHE_ARGS[@]}" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "no-op export build failed"; }
  t1=$EPOCHREALTIME
  grep -q "cache is up to date" "$log" || { grep -A4 "exporting cache" "$log" >&2; echo "bench/cache-fleet: WARNING: the no-op export wrote something" >&2; }
  # the export step's time: "#N DONE S" of the "exporting cache" step
  NOOP=("$(python3 - "$log" <<'PY'
import re, sys
n = None
for line in open(sys.argv[1]):
    m = re.match(r"#(\d+) (.*)$", line.rstrip("\n"))
    if not m: continue
    if "] exporting cache" in m.group(2): n = m.group(1)
    elif n == m.group(1) and m.group(2).startswith("DONE"): print(m.group(2).split()[1].rstrip("s")); break
else: print("?")
PY
)" "$(python3 -c "print(f'{$t1 - $t0:.3f}')")")
  # one manifest GET, as the exporter's check (median of 5, curl's own time)
  rt=$(for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H 'Accept: application/vnd.oci.image.index.v1+json' \
      -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
      "http://$R/v2/app-cache/manifests/main"; done | sort -n | sed -n 3p)
  NOOP+=("$rt")
  # one-layer change: config.txt (the last step's layer only)
  printf 'listen=9090\n' >"$dir/config.txt"
  blob_list >"$W/blobs.before"
  log=$W/logs/one-layer-export
  mk_build "$root" "$dir" "${CACHE_ARGS[@]}" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "one-layer export build failed"; }
  sleep 0.3
  blob_list >"$W/blobs.after"
  b0=$(steps "$log" | awk '{print $5}')
  ONE=("$b0" "$(comm -13 "$W/blobs.before" "$W/blobs.after" | sort -k2 -n | awk '{printf "%s%s", (NR > 1 ? " + " : ""), $2}')"
       "$(grep -oE '[0-9]+ blobs written \([0-9]+ bytes\), [0-9]+ mounted' "$log")")
  rm -rf "$W/fleet/m$m/again"
}

# --- docker ----------------------------------------------------------------------
dk() { "$DOCKER" "$@"; }
DOCKER_SKIP=
docker_setup() {
  [ -x "$DOCKER" ] && [ -x "$DOCKERD" ] || { DOCKER_SKIP="docker or dockerd is not installed"; return 1; }
  export DOCKER_HOST=unix://$W/docker.sock
  "$DOCKERD" --iptables=false --bridge=none --data-root "$W/docker-data" --exec-root "$W/docker-exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" </dev/null >"$W/dockerd.log" 2>&1 &
  started_dockerd=$!
  local _
  for _ in $(seq 1 60); do dk info >/dev/null 2>&1 && break; sleep 0.5; done
  dk info >/dev/null 2>&1 || { DOCKER_SKIP="the private dockerd did not start: $(tail -1 "$W/dockerd.log")"; return 1; }
  say "docker $(dk version -f '{{.Server.Version}}') (private dockerd, storage $(dk info -f '{{.Driver}}'))"
}
docker_fresh() { # a fresh machine: no build cache, no image
  dk builder prune -af >/dev/null 2>&1
  dk image ls -aq | sort -u | xargs -r "$DOCKER" rmi -f >/dev/null 2>&1
  dk image prune -af >/dev/null 2>&1
  [ -z "$(dk image ls -aq)" ]
}
dk_build_push() { # DIR
  (cd "$1" && DOCKER_BUILDKIT=1 "$DOCKER" build --progress plain --network=host --build-arg BUILDKIT_INLINE_CACHE=1 \
    --cache-from "$R/app:latest" -t "$R/app:latest" . && "$DOCKER" push "$R/app:latest")
}
row_docker() {
  local k dir
  reg_fresh
  push_bases
  make_history
  for k in $(seq 1 $NCOMMITS); do
    dir=$W/fleet/docker/ci-$k/app
    checkout "$k" "$dir"
    docker_fresh || die "docker: could not empty the daemon"
    one_build docker "$k" dk_build_push "$dir"
    # a fresh daemon: every CACHED step came from the inline cache
    T[docker.$k]=$(echo "${T[docker.$k]}" | awk '{ $2 += $1; $1 = 0; print }')
    rm -rf "$(dirname "$dir")"
    say "docker commit $k (${KIND[k]}): ${T[docker.$k]}"
  done
}

# --- run --------------------------------------------------------------------------
say "load at start:$(uptime | sed 's/.*load average:/ /')"
declare -A DETAIL
declare -A SUM # SUM[row.round]="local remote ran total up exported down base secs"
rows=()
for round in $(seq 1 "$RUNS"); do
  for row in $SCENARIOS; do
    case $row in
      shared | local | ephemeral) row_mkimage "$row" ;;
      docker)
        if [ -z "$started_dockerd" ] && [ -z "$DOCKER_SKIP" ]; then docker_setup; fi
        [ -n "$DOCKER_SKIP" ] && { say "docker: skipped ($DOCKER_SKIP)"; continue; }
        row_docker ;;
      *) die "unknown scenario $row (shared, local, ephemeral, docker)" ;;
    esac
    [ "$row" = shared ] && [ "$round" = 1 ] && extra_exports
    SUM[$row.$round]=$(for k in $(seq 1 $NCOMMITS); do echo "${T[$row.$k]}"; done | awk '
      { l += $1; r += $2; ran += $3; t += $4; if ($5 != "-") ex += $5; else noex = 1; up += $6; dn += $7; b += $8; s += $9; f += $10 }
      END { printf "%d %d %d %d %d %s %d %d %.2f %d\n", l, r, ran, t, up, (noex ? "-" : ex), dn, b, s, f }')
    # per-build detail of the last round
    for k in $(seq 1 $NCOMMITS); do DETAIL[$row.$k]=${T[$row.$k]}; done
    [[ " ${rows[*]} " == *" $row "* ]] || rows+=("$row")
  done
done
say "load at end:$(uptime | sed 's/.*load average:/ /')"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
declare -A MED
for row in "${rows[@]}"; do
  # the round with the median total time
  MED[$row]=$(for round in $(seq 1 "$RUNS"); do echo "${SUM[$row.$round]}"; done | sort -k9 -n | sed -n "$(((RUNS + 1) / 2))p")
done
{
  echo "bench/cache-fleet $(date -u +%Y-%m-%dT%H:%M:%SZ) on $commit ($(nproc) CPUs): $NCOMMITS commits on $MACHINES machines (commit k on machine k mod $MACHINES), 8 steps per build; RUNS=$RUNS (median round by time)"
  printf '%-10s %6s %6s %6s %4s %8s %7s %9s %20s %7s %6s\n' row cached local remote ran hit_rate up_MB export_MB "down_MB (base)" time_s failed
  for row in "${rows[@]}"; do
    read -r l r ran t up ex dn b s f <<<"${MED[$row]}"
    printf '%-10s %6d %6d %6d %4d %7.0f%% %7s %9s %20s %7s %6s\n' "$row" $((l + r)) "$l" "$r" "$ran" \
      "$(python3 -c "print(100 * ($l + $r) / $t)")" "$(mb "$up")" "$([ "$ex" = - ] && echo - || mb "$ex")" \
      "$(mb "$dn") ($(mb "$b"))" "$s" "$f"
  done
  for a in local ephemeral docker; do
    [ -n "${MED[shared]:-}" ] && [ -n "${MED[$a]:-}" ] || continue
    read -r _ _ _ _ _ _ _ _ s1 _ <<<"${MED[shared]}"
    read -r _ _ _ _ _ _ _ _ s2 _ <<<"${MED[$a]}"
    echo "time shared/$a: $(python3 -c "print(f'{$s1 / $s2:.2f}')")x"
  done
  [ -n "$DOCKER_SKIP" ] && echo "docker: skipped ($DOCKER_SKIP)"
  if [ ${#NOOP[@]} -gt 0 ]; then
    echo "no-op export: export step ${NOOP[0]} s (whole build ${NOOP[1]} s); one manifest GET ${NOOP[2]} s"
    echo "one-layer export: ${ONE[2]}; new blobs in the registry (smallest first): ${ONE[1]} bytes"
  fi
  [ -s "$W/failures" ] && { echo "failed builds (retried without --cache-from):"; sed 's/^/  /' "$W/failures"; }
  echo "per build (row commit kind: local remote ran total export_bytes up_bytes down_bytes base_bytes seconds failed):"
  for row in "${rows[@]}"; do
    for k in $(seq 1 $NCOMMITS); do echo "  $row $k ${KIND[k]}: ${DETAIL[$row.$k]}"; done
  done
} | tee "$OUT"
say "results in $OUT"
