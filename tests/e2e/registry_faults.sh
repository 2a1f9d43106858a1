#!/usr/bin/env bash
# Pulls through tests/registry/fault_proxy.py in front of a registry (images are
# pushed to the registry directly, pulled through the proxy): 500s and a 429 are
# retried, a cut blob resumes with Range, a corrupted config or layer fails with
# "digest mismatch" and stores nothing, a stalled transfer gives up within the
# bounds of stall-timeout-seconds and max-attempts, and blobs redirected to
# another host:port get no credentials.
# Env: MKIMAGE (binary). Exit 77 = skipped.
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
source "$(dirname "$0")/registry_lib.bash"
set -o pipefail

now() { date +%s.%N; }
# elapsed START: seconds since START, 1 decimal
elapsed() { python3 -c 'import sys,time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"; }
# ge A B: A >= B (decimals)
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
# snapshot ROOT NAME: image list and blob list of store ROOT into $W/NAME.{images,blobs}
snapshot() {
  MKIMAGE_ROOT=$1 "$MKIMAGE" images -a --no-trunc --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}' >"$W/$2.images" 2>&1 || fail "images failed: $(cat "$W/$2.images")"
  (cd "$1/blobs/sha256" && ls -A) >"$W/$2.blobs" 2>/dev/null || : >"$W/$2.blobs"
}
# same_store A B WHAT: the stores' snapshots A and B are the same
same_store() {
  cmp -s "$W/$1.images" "$W/$2.images" || bad "$3: the image list changed: $(diff "$W/$1.images" "$W/$2.images")"
  cmp -s "$W/$1.blobs" "$W/$2.blobs" || bad "$3: blobs were added: $(diff "$W/$1.blobs" "$W/$2.blobs" | grep '^>')"
}

# The images: bb:1, and bb:2 (the same busybox plus /marker: its own layer and config)
ROOT0=$MKIMAGE_ROOT # where they are made and pushed from
reg_start main none
R=$REG_ADDR
mk_busybox_image bb:1
ID1=$IMG_ID
mk_busybox_image bb:2 corrupt-me
ID2=$IMG_ID
for t in 1 2; do
  m_ok tag$t tag "bb:$t" "$R/bb:$t"
  m_ok push$t push "$R/bb:$t"
done

# --- 500 twice, then the real answer ----------------------------------------
proxy_start p500 "$R" --mode 500:2
export MKIMAGE_ROOT=$W/root-500
registries_json '{"max-attempts": 4}'
m_ok p500 pull "$PROXY_ADDR/bb:1"
has p500 "Status: Downloaded newer image"
[ "$(image_id "$MKIMAGE_ROOT" "$PROXY_ADDR/bb:1")" = "$ID1" ] || bad "500: pulled image ID is not $ID1"
[ "$(log_count "$PROXY_LOG" ' 500 .*fault=500')" = 2 ] || bad "500: the proxy did not send two 500s: $(cat "$PROXY_LOG")"
proxy_stop p500

# --- 429 with Retry-After: 1 -------------------------------------------------
proxy_start p429 "$R" --mode 429:1:1
export MKIMAGE_ROOT=$W/root-429
t0=$(now)
m_ok p429 pull "$PROXY_ADDR/bb:1"
dt=$(elapsed "$t0")
has p429 "Status: Downloaded newer image"
[ "$(log_count "$PROXY_LOG" ' 429 .*fault=429')" = 1 ] || bad "429: the proxy sent no 429: $(cat "$PROXY_LOG")"
ge "$dt" 1.0 || bad "429 with Retry-After: 1: the pull took only ${dt}s"
[ "$(image_id "$MKIMAGE_ROOT" "$PROXY_ADDR/bb:1")" = "$ID1" ] || bad "429: pulled image ID is not $ID1"
proxy_stop p429

# --- a cut connection: config and layer resume with Range --------------------
proxy_start pcut "$R" --mode cut-blob:2
export MKIMAGE_ROOT=$W/root-cut
m_ok pcut pull "$PROXY_ADDR/bb:1"
has pcut "Status: Downloaded newer image"
[ "$(log_count "$PROXY_LOG" 'fault=cut-blob')" = 2 ] || bad "cut-blob: the proxy cut no two blobs: $(cat "$PROXY_LOG")"
# (a resumed GET counts too: the config may be cut twice, then resumed)
n=$(log_count "$PROXY_LOG" '^proxy GET /v2/bb/blobs/sha256:[0-9a-f]{64} 206 auth=no range=bytes=[1-9][0-9]*-$')
[ "$n" -ge 1 ] || bad "cut-blob: no Range request resumed a cut blob: $(cat "$PROXY_LOG")"
[ "$(image_id "$MKIMAGE_ROOT" "$PROXY_ADDR/bb:1")" = "$ID1" ] || bad "cut-blob: pulled image ID is not $ID1"
MKIMAGE_ROOT=$W/root-cut "$MKIMAGE" save -o "$W/cut.tar" "$PROXY_ADDR/bb:1" 2>"$W/cut.err" || bad "cut-blob: save failed: $(cat "$W/cut.err")"
python3 - "$W/cut.tar" <<'PY' || bad "cut-blob: the pulled layer is not the busybox rootfs"
import hashlib, io, json, sys, tarfile
outer = tarfile.open(sys.argv[1])
layer = json.load(outer.extractfile("manifest.json"))[0]["Layers"][0]
t = tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read()), mode="r:*")
bb = t.extractfile([m for m in t if m.name.lstrip("./") == "bin/busybox"][0]).read()
assert bb == open("/bin/busybox", "rb").read()
PY
proxy_stop pcut

# --- corrupted blobs: nothing is stored -------------------------------------
# Into the store of the 500 case (it has bb:1; bb:2's config and layer are new).
# First the config is corrupted.
S=$W/root-500
export MKIMAGE_ROOT=$S
proxy_start pbad "$R" --mode corrupt-blob
snapshot "$S" before1
if m pbad1 pull "$PROXY_ADDR/bb:2"; then bad "corrupt-blob (config): the pull succeeded"; else has pbad1 "digest mismatch"; fi
snapshot "$S" after1
same_store before1 after1 "corrupt-blob (config)"
# Then a layer: the store gets bb:2's config blob first (as a file, from the
# registry), so only the layer is downloaded (and corrupted).
curl -sf -o "$S/blobs/sha256/${ID2#sha256:}" "http://$R/v2/bb/blobs/$ID2" || fail "cannot fetch config $ID2"
[ "sha256:$(sha256sum <"$S/blobs/sha256/${ID2#sha256:}" | cut -d' ' -f1)" = "$ID2" ] || fail "fetched config does not hash to $ID2"
snapshot "$S" before2
n0=$(log_count "$PROXY_LOG" 'fault=corrupt-blob')
l0=$(wc -l <"$PROXY_LOG")
if m pbad2 pull "$PROXY_ADDR/bb:2"; then bad "corrupt-blob (layer): the pull succeeded"; else has pbad2 "digest mismatch"; fi
[ "$(log_count "$PROXY_LOG" 'fault=corrupt-blob')" -gt "$n0" ] || bad "corrupt-blob (layer): the proxy corrupted no layer: $(cat "$PROXY_LOG")"
grep -q "GET /v2/bb/blobs/$ID2 " <(tail -n +"$((l0 + 1))" "$PROXY_LOG") && bad "corrupt-blob (layer): the config was downloaded again"
snapshot "$S" after2
same_store before2 after2 "corrupt-blob (layer)"
left=$(find "$S/tmp" -mindepth 1 2>/dev/null | head -n 3)
[ -z "$left" ] || bad "corrupt-blob: temp files left in the store: $left"
proxy_stop pbad

# --- one stall: resumed ---------------------------------------------------
proxy_start pst1 "$R" --mode stall:1
export MKIMAGE_ROOT=$W/root-stall1
registries_json '{"stall-timeout-seconds": 3, "max-attempts": 3}'
m_ok pst1 pull "$PROXY_ADDR/bb:1"
has pst1 "Status: Downloaded newer image"
[ "$(image_id "$MKIMAGE_ROOT" "$PROXY_ADDR/bb:1")" = "$ID1" ] || bad "stall:1: pulled image ID is not $ID1"
proxy_stop pst1

# --- every blob GET stalls (16 bytes, then nothing): give up ----------------
# 3 attempts of 3 s (+ back-off) should end well within 30 s; a client that
# restarts its attempt count whenever a resumed GET brings a few bytes never ends.
proxy_start pst "$R" --mode stall
export MKIMAGE_ROOT=$W/root-stall
registries_json '{"stall-timeout-seconds": 3, "max-attempts": 3}'
snapshot "$MKIMAGE_ROOT" before3
t0=$(now)
timeout -k 3 30 "$MKIMAGE" pull "$PROXY_ADDR/bb:1" >"$W/out.pst" 2>"$W/err.pst"
rc=$?
dt=$(elapsed "$t0")
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  bad "stall: the pull was still running after 30 s (stopped); the proxy saw $(log_count "$PROXY_LOG" 'fault=stall') stalled blob GETs, the last: $(tail -n 1 "$PROXY_LOG")"
elif [ "$rc" = 0 ]; then
  bad "stall: the pull succeeded"
else
  has_re pst 'stalled|no data'
  ge 30 "$dt" || bad "stall: the pull took ${dt}s"
fi
snapshot "$MKIMAGE_ROOT" after3
same_store before3 after3 "stall"
proxy_stop pst

# --- blobs redirected to another host:port: no credentials follow ------------
reg_start auth htpasswd
A=$REG_ADDR
export MKIMAGE_ROOT=$ROOT0
m_ok tagA tag bb:1 "$A/bb:1"
printf '%s\n' "$REG_PASSWORD" | "$MKIMAGE" login -u "$REG_USER" --password-stdin "$A" >/dev/null 2>"$W/err.loginA" ||
  fail "login to $A failed: $(cat "$W/err.loginA")"
m_ok pushA push "$A/bb:1"
proxy_start predir "$A" --mode redirect-blobs
printf '%s\n' "$REG_PASSWORD" | "$MKIMAGE" login -u "$REG_USER" --password-stdin "$PROXY_ADDR" >/dev/null 2>"$W/err.loginP" ||
  fail "login to $PROXY_ADDR failed: $(cat "$W/err.loginP")"
export MKIMAGE_ROOT=$W/root-redirect
m_ok predir pull "$PROXY_ADDR/bb:1"
has predir "Status: Downloaded newer image"
[ "$(image_id "$MKIMAGE_ROOT" "$PROXY_ADDR/bb:1")" = "$ID1" ] || bad "redirect: pulled image ID is not $ID1"
[ "$(log_count "$PROXY_LOG" '^proxy GET /v2/bb/blobs/sha256:[0-9a-f]{64} 307 auth=yes .*fault=redirect-blobs')" -ge 2 ] ||
  bad "redirect: the proxy redirected fewer than 2 blobs: $(cat "$PROXY_LOG")"
[ "$(log_count "$PROXY_LOG" '^redirect GET /r/[^ ]+/v2/bb/blobs/sha256:[0-9a-f]{64} 200 auth=no')" -ge 2 ] ||
  bad "redirect: fewer than 2 blobs came from the redirect target: $(cat "$PROXY_LOG")"
no_auth_leak predir
proxy_stop predir

# --- the storage host asks for credentials itself: none follow, the pull fails
proxy_start psteal "$A" --mode redirect-blobs-401
printf '%s\n' "$REG_PASSWORD" | "$MKIMAGE" login -u "$REG_USER" --password-stdin "$PROXY_ADDR" >/dev/null 2>"$W/err.loginS" ||
  fail "login to $PROXY_ADDR failed: $(cat "$W/err.loginS")"
export MKIMAGE_ROOT=$W/root-steal
if m psteal pull "$PROXY_ADDR/bb:1"; then bad "steal: the pull succeeded although the storage host refused it"; fi
has psteal "asked for credentials"
no_auth_leak psteal
proxy_stop psteal

[ "$BAD" = 0 ] || fail "$BAD check(s) failed"
pass
