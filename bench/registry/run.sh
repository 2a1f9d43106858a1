#!/usr/bin/env bash
# bench/registry: push and pull of a ~500 MB, 11-layer image through a local
# docker-registry (127.0.0.1, no auth), side by side in one run: mkimage,
# skopeo (oci: dir ↔ registry) and docker 20.10 (a private dockerd), each cold
# (empty registry / empty store) and warm (every blob already there), plus the
# physical limits for the same bytes (cat | sha256sum, gunzip | sha256sum, and
# curl GET of the blobs from the registry). Medians of RUNS rounds; rounds
# interleave the tools. Prints a table and writes it to $OUT.
#
#   bench/registry/run.sh [MKIMAGE_BINARY]    (default build/mkimage; root needed)
#   RUNS=N          rounds (median reported; default 3)
#   TOOLS="mkimage skopeo docker"   which tools to run
#   SIZE_MB=500 LAYERS=10           image size and number of data layers
#   OUT=FILE        results file (default bench/registry/results.txt, not committed)
#
# What each cell times:
#   push cold  a fresh registry (new data dir, new port); mkimage pushes from a
#              copy of the store as the build left it (no compressed blob
#              remembered), docker from an image it loaded or pulled earlier (it
#              compresses again for a registry it has not seen), skopeo from an
#              oci: dir that already holds the gzip blobs (upload only)
#   pull cold  into an empty store / a docker without the image / an empty oci: dir
#   push warm  the same push again (every blob in the repository)
#   "mkimage, gzip remembered": a cold push from the store the cold push left,
#              which remembers the compressed layers (upload only, like skopeo)
#   pull warm  the same pull again (every blob in the store)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"mkimage skopeo docker"}
SIZE_MB=${SIZE_MB:-500}
LAYERS=${LAYERS:-10}
OUT=${OUT:-$here/results.txt}
REGPY=$src/tests/registry/registry.py
DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
[ "$(id -u)" = 0 ] || { echo "bench/registry: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "bench/registry: $mk is not built" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "bench/registry: docker-registry is not installed (scripts/deps.sh)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "bench/registry: /bin/busybox (busybox-static) is not installed" >&2; exit 1; }
# talk to 127.0.0.1 directly, whatever proxy the machine has
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

W=$(mktemp -d /tmp/mkimage-bench-registry.XXXXXX)
export DOCKER_CONFIG=$W/docker-config # no credentials of the machine's user
mkdir -p "$DOCKER_CONFIG"
echo '{"auths":{}}' >"$W/auth.json"
started_dockerd=
cleanup() {
  local _
  [ -e "$W/reg/registry.pid" ] && python3 "$REGPY" stop --dir "$W/reg" >/dev/null 2>&1
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.2; done
  fi
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
die() { echo "bench/registry: $*" >&2; exit 1; }

# reg_fresh: a registry with an empty data dir on a new port; sets R
reg_fresh() {
  local port
  [ -e "$W/reg/registry.pid" ] && python3 "$REGPY" stop --dir "$W/reg" >/dev/null
  rm -rf "$W/reg"
  port=$(python3 "$REGPY" start --dir "$W/reg" --auth none --lifetime 7200) || die "the registry did not start"
  R=127.0.0.1:$port
}

# --- the image: FROM scratch, busybox, LAYERS × COPY of a generated directory ---
# each data layer: 70 % incompressible bytes, 30 % log-like text (compresses ~10x)
commit=$(git -C "$src" log -1 --format=%h 2>/dev/null)
echo "bench/registry: $(git -C "$src" log -1 --format='%h %s' 2>/dev/null)"
echo "bench/registry: build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$mk")/CMakeCache.txt" 2>/dev/null)"
# run a copy: a rebuild of the binary during the run does not mix two binaries
cp "$mk" "$W/mkimage" || die "cannot copy $mk"
mk=$W/mkimage
echo "bench/registry: making a ${SIZE_MB} MB image with $LAYERS data layers in $W"
ctx=$W/ctx
mkdir -p "$ctx"
cp /bin/busybox "$ctx/busybox"
python3 - "$ctx" "$SIZE_MB" "$LAYERS" <<'PY' || die "generating the context failed"
import os, random, sys
ctx, size_mb, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = (size_mb << 20) // layers
for i in range(1, layers + 1):
    d = os.path.join(ctx, f"l{i:02d}")
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(i)
    n_rand = per * 7 // 10
    with open(os.path.join(d, "blob.bin"), "wb") as f:
        for _ in range(n_rand >> 20):
            f.write(rnd.randbytes(1 << 20))
    with open(os.path.join(d, "app.log"), "w") as f:
        written, k = 0, 0
        while written < per - n_rand:
            line = (f"2024-01-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}:{(k * 7) % 60:02d}Z INFO layer={i} "
                    f"req={rnd.randrange(1 << 32):08x} path=/api/v1/items/{rnd.randrange(10000)} "
                    f"status={rnd.choice((200, 200, 200, 201, 304, 404))} ms={rnd.randrange(500)}\n")
            f.write(line)
            written += len(line)
            k += 1
PY
{
  echo 'FROM scratch'
  echo 'COPY busybox /bin/busybox'
  for i in $(seq -f '%02g' 1 "$LAYERS"); do echo "COPY l$i /data/l$i"; done
} >"$ctx/Dockerfile"
S0=$W/mk-built
t0=$EPOCHREALTIME
"$mk" --root "$S0" build --progress plain -t bench/img:1 "$ctx" >"$W/build.log" 2>&1 || { tail -20 "$W/build.log"; die "mkimage build failed"; }
t1=$EPOCHREALTIME
IMG_ID=$("$mk" --root "$S0" image inspect -f '{{.Id}}' bench/img:1)
rm -rf "$ctx"
# the store as the build left it: no compressed layer remembered yet (save and
# push remember theirs); every cold push starts from a copy of it
cp -a "$S0" "$W/mk-pristine"
echo "bench/registry: mkimage build $(elapsed "$t0" "$t1")s, image $IMG_ID"

# the same image as an OCI layout with gzip blobs (skopeo's source, the limits' bytes)
"$mk" --root "$S0" save --format oci-archive -o "$W/img.oci.tar" bench/img:1 || die "mkimage save --format oci-archive failed"
mkdir -p "$W/oci-src"
tar -C "$W/oci-src" -xf "$W/img.oci.tar" || die "untar of the oci-archive failed"
rm -f "$W/img.oci.tar"
# layer blob paths, in manifest order; the sizes
mapfile -t LAYER_BLOBS < <(python3 - "$W/oci-src" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(d, "blobs", *idx["manifests"][0]["digest"].split(":"))))
for l in m["layers"]:
    assert l["mediaType"].endswith("+gzip"), l["mediaType"]
    print(os.path.join(d, "blobs", *l["digest"].split(":")))
PY
)
[ ${#LAYER_BLOBS[@]} -gt 0 ] || die "no layers in the oci-archive"
SK_REF=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print(i["manifests"][0].get("annotations",{}).get("org.opencontainers.image.ref.name",""))' "$W/oci-src/index.json")
[ -n "$SK_REF" ] || die "the oci-archive's index names no tag"
gz_mb=$(du -cm "${LAYER_BLOBS[@]}" | tail -1 | cut -f1)
raw_mb=$(for b in "${LAYER_BLOBS[@]}"; do gzip -dc "$b"; done | wc -c | awk '{printf "%d", $1/1048576}')
echo "bench/registry: ${#LAYER_BLOBS[@]} layers, ${raw_mb} MB uncompressed, ${gz_mb} MB gzip (mkimage save's layer bytes)"

# --- the tools: TOOL_setup, then per round: push_cold, pull_cold, push_warm, pull_warm
# (each round starts the tool on a fresh registry; TOOL_prep_* runs untimed)
mk_setup() { true; }
mk_prep_push_cold() {
  rm -rf "$W/mk-push"
  cp -a "$W/mk-pristine" "$W/mk-push"
  "$mk" --root "$W/mk-push" tag bench/img:1 "$R/bench/mk:1"
}
mk_push() { "$mk" --root "$W/mk-push" push "$R/bench/mk:1" >"$W/log.mkimage" 2>&1; }
mk_prep_pull_cold() { rm -rf "$W/mk-pull"; }
mk_pull() { "$mk" --root "$W/mk-pull" pull "$R/bench/mk:1" >"$W/log.mkimage" 2>&1; }
mk_check() { [ "$("$mk" --root "$W/mk-pull" image inspect -f '{{.Id}}' "$R/bench/mk:1")" = "$IMG_ID" ]; }

sk_setup() { command -v skopeo >/dev/null; }
sk_prep_push_cold() { true; }
sk_push() {
  skopeo copy -q --authfile "$W/auth.json" --dest-tls-verify=false \
    "oci:$W/oci-src:$SK_REF" "docker://$R/bench/sk:1" >"$W/log.skopeo" 2>&1
}
sk_prep_pull_cold() { rm -rf "$W/sk-pull"; }
sk_pull() {
  skopeo copy -q --authfile "$W/auth.json" --src-tls-verify=false \
    "docker://$R/bench/sk:1" "oci:$W/sk-pull:img" >"$W/log.skopeo" 2>&1
}
sk_check() {
  python3 - "$W/sk-pull" "$IMG_ID" <<'PY'
import json, os, sys
d, want = sys.argv[1:]
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(d, "blobs", *idx["manifests"][0]["digest"].split(":"))))
sys.exit(0 if m["config"]["digest"] == want else 1)
PY
}

dk() { "$DOCKER" "$@"; }
dk_setup() {
  [ -x "$DOCKER" ] && [ -x "$DOCKERD" ] || return 1
  export DOCKER_HOST=unix://$W/docker.sock
  "$DOCKERD" --iptables=false --bridge=none --data-root "$W/docker-data" --exec-root "$W/docker-exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" </dev/null >"$W/dockerd.log" 2>&1 &
  started_dockerd=$!
  local _
  for _ in $(seq 1 60); do dk info >/dev/null 2>&1 && break; sleep 0.5; done
  dk info >/dev/null 2>&1 || { tail -5 "$W/dockerd.log" >&2; return 1; }
  echo "bench/registry: docker $(dk version -f '{{.Server.Version}}') (private dockerd, storage $(dk info -f '{{.Driver}}'))"
  "$mk" --root "$S0" save -o "$W/img.docker.tar" bench/img:1 || return 1
  dk load -i "$W/img.docker.tar" >/dev/null || return 1
  rm -f "$W/img.docker.tar"
}
# the image is in docker (loaded, or pulled from an earlier round's registry)
dk_prep_push_cold() { dk tag "$IMG_ID" "$R/bench/dk:1"; }
dk_push() { dk push "$R/bench/dk:1" >"$W/log.docker" 2>&1; }
dk_prep_pull_cold() { dk rmi -f "$IMG_ID" >/dev/null 2>&1; dk image prune -f >/dev/null 2>&1; ! dk image inspect "$IMG_ID" >/dev/null 2>&1; }
dk_pull() { dk pull "$R/bench/dk:1" >"$W/log.docker" 2>&1; }
dk_check() { [ "$(dk image inspect -f '{{.Id}}' "$R/bench/dk:1")" = "$IMG_ID" ]; }

declare -A PFX=([mkimage]=mk [skopeo]=sk [docker]=dk)
declare -A S # S[tool.cell]=" samples"
ready=()
for t in $TOOLS; do
  [ -n "${PFX[$t]:-}" ] || die "unknown tool $t (mkimage, skopeo, docker)"
  if "${PFX[$t]}_setup"; then ready+=("$t"); else echo "bench/registry: $t unavailable, skipped" >&2; fi
done
# timed CELL TOOL FN: runs FN, adds its time to S[TOOL.CELL]
timed() {
  local cell=$1 t=$2 fn=$3 t0 t1
  sync # the previous step's writeback is not charged to this one
  t0=$EPOCHREALTIME
  "$fn" || { tail -20 "$W/log.$t" >&2; die "$t $cell failed"; }
  t1=$EPOCHREALTIME
  S[$t.$cell]+=" $(elapsed "$t0" "$t1")"
}
echo "bench/registry: load at start:$(uptime | sed 's/.*load average:/ /')"
for round in $(seq 1 "$RUNS"); do
  for t in "${ready[@]}"; do
    p=${PFX[$t]}
    reg_fresh
    "${p}_prep_push_cold" || die "$t: preparing the cold push failed"
    timed push_cold "$t" "${p}_push"
    "${p}_prep_pull_cold" || die "$t: preparing the cold pull failed"
    timed pull_cold "$t" "${p}_pull"
    "${p}_check" || die "$t: the pulled image is not $IMG_ID"
    timed push_warm "$t" "${p}_push"
    timed pull_warm "$t" "${p}_pull"
    if [ "$t" = mkimage ]; then
      # a cold registry again, but the store remembers the gzip layers of the
      # push above: upload only, as skopeo's push from an oci: dir
      reg_fresh
      "$mk" --root "$W/mk-push" tag bench/img:1 "$R/bench/mk:1" || die "mkimage tag failed"
      timed push_cold_gz mkimage mk_push
    fi
    echo "bench/registry: round $round $t: push cold/warm $(echo "${S[$t.push_cold]}" | awk '{print $NF}')/$(echo "${S[$t.push_warm]}" | awk '{print $NF}')s, pull cold/warm $(echo "${S[$t.pull_cold]}" | awk '{print $NF}')/$(echo "${S[$t.pull_warm]}" | awk '{print $NF}')s"
  done
  # the physical limits for the same bytes (page cache warm), and the registry's
  # own read speed (curl GET of every layer blob, one after the other, to /dev/null)
  t0=$EPOCHREALTIME; cat "${LAYER_BLOBS[@]}" | sha256sum >/dev/null; t1=$EPOCHREALTIME
  S[limit.cat]+=" $(elapsed "$t0" "$t1")"
  t0=$EPOCHREALTIME; for b in "${LAYER_BLOBS[@]}"; do gzip -dc "$b"; done | sha256sum >/dev/null; t1=$EPOCHREALTIME
  S[limit.gunzip]+=" $(elapsed "$t0" "$t1")"
  if command -v skopeo >/dev/null; then
    reg_fresh
    skopeo copy -q --authfile "$W/auth.json" --dest-tls-verify=false "oci:$W/oci-src:$SK_REF" "docker://$R/bench/raw:1" >/dev/null 2>&1 ||
      die "seeding the registry for the curl limit failed"
    t0=$EPOCHREALTIME
    for b in "${LAYER_BLOBS[@]}"; do
      curl -fsS -o /dev/null "http://$R/v2/bench/raw/blobs/sha256:$(basename "$b")" || die "curl GET of a blob failed"
    done
    t1=$EPOCHREALTIME
    S[limit.curl]+=" $(elapsed "$t0" "$t1")"
  fi
done
echo "bench/registry: load at end:$(uptime | sed 's/.*load average:/ /')"

cells=(push_cold pull_cold push_warm pull_warm)
declare -A M
for t in "${ready[@]}"; do
  for c in "${cells[@]}" $([ "$t" = mkimage ] && echo push_cold_gz); do
    # shellcheck disable=SC2086
    M[$t.$c]=$(median ${S[$t.$c]})
    echo "bench/registry: $t $c samples:${S[$t.$c]}"
  done
done
for l in cat gunzip curl; do
  [ -n "${S[limit.$l]:-}" ] || continue
  # shellcheck disable=SC2086
  M[limit.$l]=$(median ${S[limit.$l]})
done
{
  echo "bench/registry $(date -u +%Y-%m-%dT%H:%M:%SZ) on $commit ($(nproc) CPUs): ${#LAYER_BLOBS[@]} layers, ${raw_mb} MB uncompressed, ${gz_mb} MB gzip; medians of $RUNS runs, seconds"
  printf '%-26s %10s %10s %10s %10s\n' tool push_cold pull_cold push_warm pull_warm
  for t in "${ready[@]}"; do
    printf '%-26s %10s %10s %10s %10s\n' "$t" "${M[$t.push_cold]}" "${M[$t.pull_cold]}" "${M[$t.push_warm]}" "${M[$t.pull_warm]}"
    [ "$t" = mkimage ] && printf '%-26s %10s\n' "mkimage, gzip remembered" "${M[mkimage.push_cold_gz]}"
  done
  [ -n "${M[limit.cat]:-}" ] && printf '%-26s %10s %10s\n' "limit: cat | sha256sum" "-" "${M[limit.cat]}"
  [ -n "${M[limit.gunzip]:-}" ] && printf '%-26s %10s %10s\n' "limit: gunzip | sha256sum" "-" "${M[limit.gunzip]}"
  [ -n "${M[limit.curl]:-}" ] && printf '%-26s %10s %10s\n' "limit: curl GET blobs" "-" "${M[limit.curl]}"
  if [ -n "${M[mkimage.push_cold]:-}" ]; then
    line="mkimage/fastest peer:"
    for c in "${cells[@]}"; do
      best='' bt=''
      for t in "${ready[@]}"; do
        [ "$t" = mkimage ] && continue
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if ${M[$t.$c]} < $best else 1)"; then best=${M[$t.$c]} bt=$t; fi
      done
      [ -n "$best" ] && line+=" $c $(python3 -c "print(f'{${M[mkimage.$c]} / max($best, 0.001):.2f}')")x ($bt)"
    done
    echo "$line  (below 1 = mkimage faster)"
    if [ -n "${M[docker.push_cold]:-}" ]; then
      line="mkimage/docker:"
      for c in "${cells[@]}"; do line+=" $c $(python3 -c "print(f'{${M[mkimage.$c]} / max(${M[docker.$c]}, 0.001):.2f}')")x"; done
      echo "$line"
    fi
    [ -n "${M[skopeo.push_cold]:-}" ] &&
      echo "mkimage/skopeo push_cold, both upload-only (gzip remembered): $(python3 -c "print(f'{${M[mkimage.push_cold_gz]} / max(${M[skopeo.push_cold]}, 0.001):.2f}')")x"
  fi
} | tee "$OUT"
echo "bench/registry: results in $OUT"
