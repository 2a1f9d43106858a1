#!/usr/bin/env bash
# bench/build: the build scenarios of issue 15 side by side in one run with
# docker 20.10's BuildKit and `buildah bud --layers`, next to the physical
# references measured in the same run. Prints every sample, then a table of
# medians and ratios (docs/performance.md keeps the results).
#
#   bench/build/run.sh [[LABEL=]MKIMAGE_BINARY ...]   (default build/mkimage; root needed)
#     several binaries (e.g. main=/var/tmp/mkimage-main sched=build/mkimage) are
#     measured side by side, each with stores of its own
#   SCENARIOS="tiny cache-order sleeps gib bigctx"   which scenarios (default all, in this order)
#   RUNS=N        rounds of the fast scenarios (cold and warm builds; median; default 5)
#   SLOW_RUNS=N   rounds of the 1 GiB RUN (default 3)
#   TOOLS="mkimage buildkit buildah"   which builders ("mkimage" = every binary given)
#   BENCH_DIR     where the 100,000-file context is generated once and reused
#                 (default /var/tmp/mkimage-bench-build; deleting 100k files slows
#                 file creation on this VM for minutes, so it is never deleted) and
#                 where each run's stores live (removed in the background at the end)
#   BIGCTX_BUILDAH_RUNS  warm bigctx rounds that include buildah (default 1: it
#                 takes 1.5–2 min per build of the 100k-file context here)
#   MK_NETWORK    mkimage's --network (default: mkimage's default, a private
#                 network namespace; BuildKit runs with --network=host, since the
#                 private dockerd has no bridge)
#
# Scenarios (each builder gets stores of its own; "cold" = an empty store, a
# pruned BuildKit cache, an empty buildah root):
#   tiny         FROM scratch, COPY busybox, COPY a file, one RUN: cold, warm
#   cache-order  testdata/cache-order Dockerfile.ordered: cold, warm, edit one source file
#   sleeps       3 independent stages each `RUN sleep 1` (+ a base and a final
#                stage): cold; reference: 3 sleeps at once on the host
#   gib          a RUN writing 1 GiB in 20,000 files: cold; references: the same
#                command on the host, `tar -cf - | sha256sum` of its output, and
#                `openssl dgst -sha256` (SHA-NI) of the same tar bytes
#   bigctx       `COPY . /ctx` of a 100,000-file context: cold (once per run),
#                warm (nothing changed); references: a bare stat walk
#                (`find CTX -printf '%s %T@\n'`), `tar -C CTX -cf - . | sha256sum`,
#                `openssl dgst -sha256` of the same tar bytes; mkimage's peak RSS
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
SCENARIOS=${SCENARIOS:-"tiny cache-order sleeps gib bigctx"}
TOOLS=${TOOLS:-"mkimage buildkit buildah"}
BENCH_DIR=${BENCH_DIR:-/var/tmp/mkimage-bench-build}
MK_NETWORK=${MK_NETWORK:-}
[ "$(id -u)" = 0 ] || { echo "bench/build: needs root" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/build: needs GNU time (/usr/bin/time)" >&2; exit 1; }

# The mkimage binaries: label → path.
declare -A MK
MKS=()
[ $# -gt 0 ] || set -- "$src/build/mkimage"
for a in "$@"; do
  if [[ $a == *=* ]]; then l=${a%%=*} p=${a#*=}; else l=mkimage p=$a; fi
  [ -x "$p" ] || { echo "bench/build: $p is not built" >&2; exit 1; }
  [ -z "${MK[$l]:-}" ] || { echo "bench/build: label $l given twice" >&2; exit 1; }
  MK[$l]=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")
  MKS+=("$l")
done

mkdir -p "$BENCH_DIR"
W=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
started_dockerd=
cleanup() {
  [ -n "$started_dockerd" ] && kill "$started_dockerd" 2>/dev/null && wait "$started_dockerd" 2>/dev/null
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  # Stores with 100k and 20k files: removed at low priority after the run.
  echo "bench/build: removing $W in the background (nice, ionice idle)" >&2
  setsid nice -n 19 ionice -c3 rm -rf "$W" </dev/null >/dev/null 2>&1 &
}
trap cleanup EXIT
mkdir -p "$W/trash"
trash() { [ -e "$1" ] && mv "$1" "$W/trash/$(basename "$1").$RANDOM$RANDOM"; return 0; }

# ---- contexts -----------------------------------------------------------------
bb() { mkdir -p "$1" && cp /bin/busybox "$1/busybox"; }
declare -A CTX DF
bb "$W/tiny"
echo hello >"$W/tiny/hello.txt"
cat >"$W/tiny/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
COPY hello.txt /etc/hello.txt
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cat /etc/hello.txt > /greeting"]
DF
CTX[tiny]=$W/tiny DF[tiny]=$W/tiny/Dockerfile

cp -a "$src/testdata/cache-order" "$W/cache-order"
cp /bin/busybox "$W/cache-order/busybox"
CTX[cache-order]=$W/cache-order DF[cache-order]=$W/cache-order/Dockerfile.ordered

bb "$W/sleeps"
cat >"$W/sleeps/Dockerfile" <<'DF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
FROM base AS a
RUN echo a && sleep 1
FROM base AS b
RUN echo b && sleep 1
FROM base AS c
RUN echo c && sleep 1
FROM base
COPY --from=a /bin/busybox /a
COPY --from=b /bin/busybox /b
COPY --from=c /bin/busybox /c
DF
CTX[sleeps]=$W/sleeps DF[sleeps]=$W/sleeps/Dockerfile

# 1 GiB in 20,000 files of 53,688 bytes, written by one busybox awk (busybox
# has no `split`): the RUN itself is cheap, the commit is what is measured.
gib_cmd() { echo "mkdir -p $1 && awk 'BEGIN{s=sprintf(\"%53688s\",\"\"); for(i=0;i<20000;i++){f=sprintf(\"$1/f%05d\",i); printf \"%s\", s > f; close(f)}}'"; }
bb "$W/gib"
cat >"$W/gib/Dockerfile" <<DF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN $(gib_cmd /data)
DF
CTX[gib]=$W/gib DF[gib]=$W/gib/Dockerfile

BIGCTX=$BENCH_DIR/ctx-100000
make_bigctx() {
  [ -f "$BIGCTX.complete" ] && return 0
  rm -rf "$BIGCTX"
  echo "bench/build: generating 100,000 files in $BIGCTX (once) ..." >&2
  # The shape of bench/context-walk's context: 20 top directories × 50 × 100
  # files of 0–1 KiB of random bytes.
  python3 - "$BIGCTX" 100000 <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
per_dir, dirs_per_top = 100, 50
i = 0
while i < n:
    d = os.path.join(root, f"top{i // (per_dir * dirs_per_top):03d}", f"dir{(i // per_dir) % dirs_per_top:02d}")
    os.makedirs(d, exist_ok=True)
    for _ in range(min(per_dir, n - i)):
        with open(os.path.join(d, f"file{i:06d}.txt"), "wb") as f:
            f.write(os.urandom(rnd.randint(0, 1024)))
        i += 1
PY
  touch "$BIGCTX.complete"
}
printf 'FROM scratch\nCOPY . /ctx\n' >"$W/Dockerfile.bigctx"
CTX[bigctx]=$BIGCTX DF[bigctx]=$W/Dockerfile.bigctx

# ---- builders -------------------------------------------------------------------
# build TOOL SCENARIO: one build; its output in $W/log.TOOL. Tools: mk:LABEL, buildkit, buildah.
build() {
  local t=$1 s=$2
  case $t in
    mk:*)
      local l=${t#mk:} net=()
      [ -n "$MK_NETWORK" ] && net=(--network "$MK_NETWORK")
      if [ "$s" = bigctx ]; then  # peak RSS too
        /usr/bin/time -f '%M' -o "$W/rss.$l" "${MK[$l]}" --root "$W/mk-$l-$s" build --progress plain "${net[@]}" \
          -f "${DF[$s]}" -t "bench-$s:latest" "${CTX[$s]}" >"$W/log.$t" 2>&1
      else
        "${MK[$l]}" --root "$W/mk-$l-$s" build --progress plain "${net[@]}" -f "${DF[$s]}" -t "bench-$s:latest" \
          "${CTX[$s]}" >"$W/log.$t" 2>&1
      fi ;;
    buildkit)
      DOCKER_BUILDKIT=1 /usr/bin/docker build --network=host --progress plain -f "${DF[$s]}" -t "bench-$s:latest" \
        "${CTX[$s]}" >"$W/log.$t" 2>&1 ;;
    buildah)
      buildah --root "$W/bh-$s" --runroot "$W/bh-run-$s" bud --layers --network host -f "${DF[$s]}" \
        -t "bench-$s:latest" "${CTX[$s]}" >"$W/log.$t" 2>&1 ;;
  esac
}
# cold TOOL SCENARIO: the next build of SCENARIO starts from nothing.
cold() {
  local t=$1 s=$2
  case $t in
    mk:*) trash "$W/mk-${t#mk:}-$s" ;;
    buildkit)
      /usr/bin/docker rmi -f "bench-$s:latest" >/dev/null 2>&1
      /usr/bin/docker builder prune -af >/dev/null 2>&1 ;;
    buildah)
      grep -o " $W/bh-[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
      trash "$W/bh-$s"; trash "$W/bh-run-$s" ;;
  esac
}
# cached TOOL: how many steps the last build took from its cache
cached() {
  case $1 in
    buildah) grep -c 'Using cache' "$W/log.$1" ;;
    *) grep -c '^#[0-9]* CACHED' "$W/log.$1" ;;
  esac
}
# A private dockerd (own data-root, exec-root and socket under $W): the
# machine's /var/lib/docker and its build cache are left alone.
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

ALL=()
for t in $TOOLS; do
  case $t in
    mkimage) for l in "${MKS[@]}"; do ALL+=("mk:$l"); done ;;
    buildkit) if setup_buildkit; then ALL+=(buildkit); else echo "bench/build: BuildKit unavailable, skipped" >&2; fi ;;
    buildah) if command -v buildah >/dev/null; then ALL+=(buildah); else echo "bench/build: buildah unavailable (apt-get install buildah), skipped" >&2; fi ;;
    *) echo "bench/build: unknown tool $t" >&2; exit 1 ;;
  esac
done

# ---- measuring ----------------------------------------------------------------------
# Timestamps come from bash's $EPOCHREALTIME (no fork inside the timed window).
RES=$W/samples.tsv   # scenario metric who seconds
: >"$RES"
note() { echo "$1	$2	$3	$4" >>"$RES"; echo "bench/build: $1 $2 $3 $4"; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
# timed SCENARIO METRIC TOOL: one build, noted; a failed build is noted as "fail"
timed() {
  local s=$1 m=$2 t=$3 t0 t1
  t0=$EPOCHREALTIME
  if build "$t" "$s"; then
    t1=$EPOCHREALTIME
    note "$s" "$m" "$t" "$(elapsed "$t0" "$t1")"
  else
    echo "bench/build: $t $s $m build failed:" >&2
    tail -15 "$W/log.$t" >&2
    note "$s" "$m" "$t" fail
  fi
}
# ref SCENARIO METRIC NAME CMD...: a reference command, timed
ref() {
  local s=$1 m=$2 n=$3 t0 t1; shift 3
  t0=$EPOCHREALTIME
  if "$@" >"$W/log.ref" 2>&1; then
    t1=$EPOCHREALTIME
    note "$s" "$m" "ref:$n" "$(elapsed "$t0" "$t1")"
  else
    echo "bench/build: reference '$n' failed:" >&2
    tail -5 "$W/log.ref" >&2
    note "$s" "$m" "ref:$n" fail
  fi
}
sh_c() { bash -c "$1"; }

# Cold rounds interleave the builders (each round: every builder's cold build).
cold_rounds() {
  local s=$1 n=$2
  for _ in $(seq 1 "$n"); do
    for t in "${ALL[@]}"; do cold "$t" "$s"; sync; timed "$s" cold "$t"; done
  done
}
# Warm rounds: every builder's rebuild of the unchanged tree (checked: cached).
warm_rounds() {
  local s=$1 n=$2 t
  for _ in $(seq 1 "$n"); do
    for t in "${ALL[@]}"; do
      timed "$s" warm "$t"
      [ "$(cached "$t")" -gt 0 ] || echo "bench/build: WARNING: $t $s warm build took nothing from its cache" >&2
    done
  done
}

scenario_tiny() {
  cold_rounds tiny "$RUNS"
  warm_rounds tiny "$RUNS"
}

scenario_cache-order() {
  cold_rounds cache-order "$RUNS"
  local t
  # Rounds: every builder's warm rebuild, one edit, every builder's rebuild after it.
  for _ in $(seq 1 "$RUNS"); do
    for t in "${ALL[@]}"; do
      timed cache-order warm "$t"
      note cache-order cached "$t" "$(cached "$t")"
    done
    echo "echo edit $RANDOM$RANDOM" >>"$W/cache-order/src/util.sh"
    for t in "${ALL[@]}"; do timed cache-order edit "$t"; done
  done
}

scenario_sleeps() {
  for _ in $(seq 1 "$RUNS"); do
    ref sleeps cold "3 sleeps at once on the host" sh_c 'sleep 1 & sleep 1 & sleep 1 & wait'
  done
  cold_rounds sleeps "$RUNS"
}

scenario_gib() {
  local d=$W/gib-host
  mkdir -p "$W/gib-bin" && ln -sf /bin/busybox "$W/gib-bin/awk"  # the same awk as in the RUN
  for _ in $(seq 1 "$SLOW_RUNS"); do
    trash "$d"; sync
    ref gib cold "the RUN on the host" sh_c "PATH=$W/gib-bin:\$PATH; $(gib_cmd "$d")"
    ref gib cold "tar -cf - | sha256sum" sh_c "tar -C $d -cf - . | sha256sum"
    tar -C "$d" -cf "$W/gib.tar" .
    ref gib cold "openssl dgst -sha256 (SHA-NI) of the tar" openssl dgst -sha256 "$W/gib.tar"
    rm -f "$W/gib.tar"
    for t in "${ALL[@]}"; do cold "$t" gib; sync; timed gib cold "$t"; done
  done
}

scenario_bigctx() {
  make_bigctx
  local t
  echo "bench/build: bigctx: $(find "$BIGCTX" -type f | wc -l) files, $(du -sh "$BIGCTX" | cut -f1) in $BIGCTX"
  for t in "${ALL[@]}"; do
    cold "$t" bigctx; sync
    timed bigctx cold "$t"
    [[ $t == mk:* ]] && note bigctx cold-rss-MB "$t" "$(($(tail -1 "$W/rss.${t#mk:}") / 1024))"
  done
  tar -C "$BIGCTX" -cf "$W/bigctx.tar" .
  local round
  for round in $(seq 1 "$RUNS"); do
    for t in "${ALL[@]}"; do
      # buildah rehashes the whole context on every build (1.5–2 min here):
      # BIGCTX_BUILDAH_RUNS rounds only (default 1)
      [ "$t" = buildah ] && [ "$round" -gt "${BIGCTX_BUILDAH_RUNS:-1}" ] && continue
      timed bigctx warm "$t"
      [ "$(cached "$t")" -gt 0 ] || echo "bench/build: WARNING: $t bigctx warm build took nothing from its cache" >&2
      [[ $t == mk:* ]] && note bigctx warm-rss-MB "$t" "$(($(tail -1 "$W/rss.${t#mk:}") / 1024))"
    done
    ref bigctx warm "stat walk: find -printf '%s %T@'" find "$BIGCTX" -printf '%s %T@\n'
    ref bigctx warm "tar -C CTX -cf - . | sha256sum" sh_c "tar -C $BIGCTX -cf - . | sha256sum"
    ref bigctx warm "openssl dgst -sha256 (SHA-NI) of the tar" openssl dgst -sha256 "$W/bigctx.tar"
  done
  rm -f "$W/bigctx.tar"
}

# The run, as one function: bash has read all of it before it starts, so the
# script can be edited while a run is going.
main() {
  for s in $SCENARIOS; do
    declare -F "scenario_$s" >/dev/null || { echo "bench/build: unknown scenario $s (want: tiny cache-order sleeps gib bigctx)" >&2; return 1; }
  done
  echo "bench/build: $(git -C "$src" log -1 --format='%h %s' 2>/dev/null | cut -c1-100)"
  for l in "${MKS[@]}"; do
    echo "bench/build: $l = ${MK[$l]} ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "${MK[$l]}")/CMakeCache.txt" 2>/dev/null))"
  done
  echo "bench/build: builders: ${ALL[*]}; scenarios: $SCENARIOS; RUNS=$RUNS SLOW_RUNS=$SLOW_RUNS"
  echo "bench/build: $(nproc) cores; load at start:$(uptime | sed 's/.*load average:/ /')"
  for s in $SCENARIOS; do
    echo "bench/build: --- $s (load:$(uptime | sed 's/.*load average://'))"
    "scenario_$s"
  done
  echo "bench/build: load at end:$(uptime | sed 's/.*load average:/ /')"
  python3 "$here/table.py" "$RES" "${MKS[@]}"
  cp "$RES" "${RESULTS:-$BENCH_DIR/last-samples.tsv}"
  echo "bench/build: samples kept in ${RESULTS:-$BENCH_DIR/last-samples.tsv}"
}
main; exit $?
