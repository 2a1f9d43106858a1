#!/usr/bin/env bash
# Builds that meet a registry: FROM an image the store lacks is pulled
# ("[internal] load metadata for REF"); a rebuild uses the store and the cache;
# a tag moved in the registry is not seen without --pull and is with it (the
# keys use the manifest digest, so the RUN step runs again); FROM NAME@DIGEST;
# COPY --from=<registry image> and RUN --mount from=<registry image> pull too;
# build --push and --output type=image,name=...,push=true push the result, and
# a pull of it into an empty store gives the same image ID.
# Env: MKIMAGE (binary). Exit 77 = skipped.
set -u
source "$(dirname "$0")/registry_lib.bash"
[ "$(id -u)" = 0 ] || skip "needs root (RUN steps: overlayfs mounts and runc)"
command -v runc >/dev/null || skip "runc is not installed"
cd "$W"

mk() { "$MKIMAGE" "$@"; }
# build LABEL ARGS...: a plain-progress build logged in log.LABEL; must succeed
build() {
  local l=$1; shift
  mk build --progress plain "$@" >"log.$l" 2>&1 || { tail -n 20 "log.$l"; fail "build $l failed"; }
}
step() { python3 "$SRC/scripts/step_cached.py" "log.$1" "$2"; }
want_step() { local g; g=$(step "$1" "$2") || fail "build $1: no step '$2'"; [ "$g" = "$3" ] || fail "build $1: '$2' is $g, want $3"; }
content() { [ "$(cat "$1" 2>/dev/null)" = "$2" ] || fail "$1 is '$(cat "$1" 2>/dev/null)', want '$2'"; }

reg_start main none
R=$REG_ADDR
mk_busybox_image base:1 v1
mk_busybox_image base:2 v2
mk tag base:1 "$R/base:1" && mk push -q "$R/base:1" >/dev/null || fail "push base:1"
mk tag base:2 "$R/base:2" && mk push -q "$R/base:2" >/dev/null || fail "push base:2"
V1=$(reg_manifest "$R/base:1" | python3 -c 'import sys,json,hashlib; print("sha256:"+hashlib.sha256(sys.stdin.buffer.read()).hexdigest())') ||
  fail "no manifest for base:1"

# --- FROM a missing image: pulled as a build step -----------------------------
export MKIMAGE_ROOT=$W/builder
mkdir -p app
printf 'FROM %s/base:1\nRUN ["/bin/busybox", "sh", "-c", "cat /marker > /out"]\n' "$R" >app/Dockerfile
build from app -o type=local,dest=out.from
grep -qF "[internal] load metadata for $R/base:1" log.from || fail "build from: no 'load metadata' step"
content out.from/out v1
build again app -o type=local,dest=out.again
want_step again 'RUN ["/bin/busybox"' CACHED
grep -qF "load metadata" log.again && fail "build again: pulled although the store has the image"

# --- a moved tag: unseen without --pull, a cache miss with it ------------------
MKIMAGE_ROOT=$W/root mk tag base:2 "$R/base:1"
MKIMAGE_ROOT=$W/root mk push -q "$R/base:1" >/dev/null || fail "push of the moved tag"
build nopull app -o type=local,dest=out.nopull
want_step nopull 'RUN ["/bin/busybox"' CACHED
content out.nopull/out v1
build pull --pull app -o type=local,dest=out.pull
grep -qF "[internal] load metadata for $R/base:1" log.pull || fail "build --pull: no 'load metadata' step"
want_step pull 'RUN ["/bin/busybox"' RAN
content out.pull/out v2

# --- FROM NAME@DIGEST: exactly that manifest ----------------------------------
printf 'FROM %s/base@%s\nRUN ["/bin/busybox", "sh", "-c", "cat /marker > /out"]\n' "$R" "$V1" >app/Dockerfile
build digest app -o type=local,dest=out.digest
content out.digest/out v1

# --- COPY --from and RUN --mount from= a registry image, in an empty store ----
export MKIMAGE_ROOT=$W/builder2
printf 'FROM %s/base:2\nCOPY --from=%s/base@%s /marker /copied\nRUN --mount=type=bind,from=%s/base:1,target=/b ["/bin/busybox", "sh", "-c", "cat /b/marker > /mounted"]\n' \
  "$R" "$R" "$V1" "$R" >app/Dockerfile
build from2 app -o type=local,dest=out.from2
content out.from2/copied v1
content out.from2/mounted v2   # base:1 now names v2's manifest
MKIMAGE_ROOT=$W/root mk tag base:1 "$R/base:1"
MKIMAGE_ROOT=$W/root mk push -q "$R/base:1" >/dev/null || fail "push of base:1 back"
build mountpull --pull app -o type=local,dest=out.mountpull
want_step mountpull 'RUN --mount' RAN   # the mount's image moved: another key
content out.mountpull/mounted v1

# --- build --push and --output type=image,name=...,push=true ------------------
printf 'FROM %s/base:1\nRUN ["/bin/busybox", "sh", "-c", "echo pushed > /p"]\n' "$R" >app/Dockerfile
build push --push -t "$R/app:1" app
grep -qE "digest: sha256:[0-9a-f]{64}" log.push || fail "build --push printed no pushed digest"
build outpush --output "type=image,name=$R/app:2,push=true" app
grep -qF "Layer already exists" log.outpush || fail "the second push uploaded again"
mk build --progress json --push -t "$R/app:3" app >log.json 2>&1 || { tail -n 5 log.json; fail "build --progress json --push"; }
pushed=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "result": print(e.get("pushed", {}).get(sys.argv[2], ""))' log.json "$R/app:3")
want=$(reg_manifest "$R/app:3" | python3 -c 'import sys,hashlib; print("sha256:"+hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
[ -n "$pushed" ] && [ "$pushed" = "$want" ] || fail "json result: pushed digest '$pushed', the registry serves '$want'"
ID=$(mk image inspect -f '{{.Id}}' "$R/app:1") || fail "no app:1 in the store"
export MKIMAGE_ROOT=$W/consumer
mk pull -q "$R/app:2" >/dev/null || fail "pull of the pushed app:2"
[ "$(mk image inspect -f '{{.Id}}' "$R/app:2")" = "$ID" ] || fail "app:2 pulled with another image ID than built"
pass
