#!/usr/bin/env bash
# Bad or hostile shared build caches never fail a build nor put anything wrong
# into the store (docs/remote-cache.md). Each case edits a good export (an OCI
# layout from --cache-to type=local, or the same pushed to a registry on
# 127.0.0.1 with curl) and builds from it in a fresh store root:
#   - a record whose layer blob is missing, has other bytes than its digest, or
#     decompresses to something else than its diff_id (a hostile layer putting
#     "evil" into /app/built.txt) — the hit is taken on the record, the layer
#     found bad when fetched: the steps run instead;
#   - an export (mode=max) of such a build leaves out the records of a bad
#     layer nothing needed, and exports the rest;
#   - an unknown format version, a truncated manifest, a truncated or garbage
#     record set, a garbage index.json, a cache ref or directory that does not
#     exist, a registry that is not running — the cache is not used;
# each with a WARNING saying why, exit 0, `mkimage store check` clean, and the
# image's files those of a build without any cache. Then --cache-to: a failed
# export fails the build naming the cache ref, unless ignore-error=true makes
# it a warning.
# Env: MKIMAGE (binary). Exit 77 = skipped.
set -u
source "$(dirname "$0")/registry_lib.bash"
[ "$(id -u)" = 0 ] || skip "needs root (RUN steps: overlayfs mounts and runc)"
command -v runc >/dev/null || skip "runc is not installed"
cd "$W"

# build ROOT LABEL CHECKOUT ARGS...: plain-progress build in store root W/ROOT
# that writes the image's files to W/fs.LABEL; its log is log.LABEL.
build() {
  local root=$1 l=$2 dir=$3; shift 3
  rm -rf "fs.$l"
  MKIMAGE_ROOT=$W/$root "$MKIMAGE" build --progress plain -t app:latest \
    --output "type=local,dest=$W/fs.$l" "$@" "$dir" >"log.$l" 2>&1
}
# hostile LABEL CHECKOUT WANT-WARNING ARGS...: a build from a bad cache in a
# fresh store: exit 0, WANT-WARNING (ERE) on a WARNING line, store check clean,
# the files of the uncached reference build of CHECKOUT.
hostile() {
  local l=$1 dir=$2 want=$3; shift 3
  [ -n "${PRESEEDED:-}" ] || rm -rf "$W/root.$l"
  if ! build "root.$l" "$l" "$dir" "$@"; then
    bad "$l: the build failed: $(tail -n 12 "log.$l")"
    return
  fi
  grep -E '^WARNING: ' "log.$l" | grep -qE -- "$want" ||
    bad "$l: no WARNING matching /$want/: $(grep -E 'WARNING' "log.$l" | head -n 5)"
  diff -r --no-dereference "fs.ref-$dir" "fs.$l" >"diff.$l" 2>&1 ||
    bad "$l: the image's files differ from an uncached build: $(head -n 5 "diff.$l")"
  MKIMAGE_ROOT=$W/root.$l "$MKIMAGE" store check >"check.$l" 2>&1 ||
    bad "$l: store check: $(tail -n 5 "check.$l")"
  out=$(MKIMAGE_ROOT=$W/root.$l "$MKIMAGE" run --rm app:latest /bin/busybox cat /app/built.txt 2>&1)
  [ "$out" = "$(printf 'lib\nlib')" ] || bad "$l: the image has '$out' in /app/built.txt"
}

# layout.py CMD DIR ...: reads and edits an OCI layout of a cache export,
# keeping every digest right unless told otherwise (the edit is the attack).
cat >layout.py <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

cmd, d = sys.argv[1], sys.argv[2]
blobs = os.path.join(d, "blobs", "sha256")

def path(digest): return os.path.join(blobs, digest.split(":")[1])
def read(digest): return open(path(digest), "rb").read()
def put(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    open(path(digest), "wb").write(data)
    return digest, len(data)

index = json.load(open(os.path.join(d, "index.json")))
mdesc = index["manifests"][0]
manifest = json.loads(read(mdesc["digest"]))
try:
    config = json.loads(read(manifest["config"]["digest"]))
except ValueError:
    config = None  # spoiled already

def layer_with(name):
    """The position of the layer whose tar holds `name`."""
    for i, l in enumerate(manifest["layers"]):
        with tarfile.open(fileobj=io.BytesIO(read(l["digest"]))) as t:
            if any(m.name.lstrip("./") == name for m in t.getmembers()):
                return i
    sys.exit(f"no layer holds {name}")

def seal(config_bytes=None, manifest_bytes=None):
    if config_bytes is None:
        config_bytes = json.dumps(config).encode()
    manifest["config"]["digest"], manifest["config"]["size"] = put(config_bytes)
    if manifest_bytes is None:
        manifest_bytes = json.dumps(manifest).encode()
    mdesc["digest"], mdesc["size"] = put(manifest_bytes)
    open(os.path.join(d, "index.json"), "w").write(json.dumps(index))

if cmd == "blob-with":        # the blob file of the layer holding PATH
    print(path(manifest["layers"][layer_with(sys.argv[3])]["digest"]))
elif cmd == "version":        # the record set claims another format version
    config["version"] = int(sys.argv[3]); seal()
elif cmd == "truncate-config":
    seal(config_bytes=json.dumps(config).encode()[:200])
elif cmd == "garbage-config":
    seal(config_bytes=os.urandom(300))
elif cmd == "truncate-manifest":
    seal(manifest_bytes=json.dumps(manifest).encode()[:150])
elif cmd == "evil-layer":     # a valid blob of other content under the old diff_id
    i = layer_with(sys.argv[3])
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        data = b"evil\n"
        info = tarfile.TarInfo(sys.argv[3]); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    digest, size = put(gzip.compress(raw.getvalue()))
    old = manifest["layers"][i]["digest"]
    manifest["layers"][i]["digest"], manifest["layers"][i]["size"] = digest, size
    for l in config["layers"]:
        if l["blob"]["digest"] == old:
            l["blob"]["digest"], l["blob"]["size"] = digest, size
    seal()
elif cmd == "blobs":          # every blob the manifest names (config first), then the manifest
    print(manifest["config"]["digest"])
    for l in manifest["layers"]: print(l["digest"])
    print(mdesc["digest"])
else:
    sys.exit("unknown command " + cmd)
PY
lay() { python3 layout.py "$@" || fail "layout.py $*"; }
# fresh NAME: a copy of the good local export to spoil
fresh() { rm -rf "$1" && cp -a good "$1"; }

# push_layout DIR REPO TAG: the cache export in DIR into the registry with curl
push_layout() {
  local dir=$1 repo=$2 tag=$3 digests d loc m
  digests=$(python3 layout.py blobs "$dir") || fail "push_layout: $dir"
  m=$(echo "$digests" | tail -n 1)
  for d in $(echo "$digests" | head -n -1); do
    loc=$(curl -sS -o /dev/null -w '%header{location}' -X POST "http://$R/v2/$repo/blobs/uploads/") ||
      fail "push_layout: POST upload"
    case $loc in http*) ;; *) loc="http://$R$loc" ;; esac
    case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
    curl -sSf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
      --data-binary "@$dir/blobs/sha256/${d#sha256:}" "$loc" || fail "push_layout: PUT blob $d"
  done
  curl -sSf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$dir/blobs/sha256/${m#sha256:}" "http://$R/v2/$repo/manifests/$tag" ||
    fail "push_layout: PUT manifest $repo:$tag"
}
# reg_blob DIGEST: the file the test registry keeps blob DIGEST in
reg_blob() { local h=${1#sha256:}; echo "$REG_DIR/data/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"; }

reg_start main none
R=$REG_ADDR
mk_busybox_image base:1 v1
"$MKIMAGE" tag base:1 "$R/base:1" && "$MKIMAGE" push -q "$R/base:1" >/dev/null || fail "push base:1"

# The app: a builder stage whose output the final stage copies.
mkdir -p src
cat >src/Dockerfile <<DF
FROM $R/base:1 AS builder
COPY lib.txt /src/lib.txt
RUN ["/bin/busybox", "sh", "-c", "cat /src/lib.txt /src/lib.txt > /built.txt"]
FROM $R/base:1
COPY --from=builder /built.txt /app/built.txt
COPY main.txt /app/main.txt
RUN ["/bin/busybox", "sh", "-c", "wc -c /app/main.txt > /app/size"]
DF
echo lib >src/lib.txt
echo main >src/main.txt
cp -a src A && cp -a src B
echo main-edited >B/main.txt # on B, COPY main.txt misses: it needs the layers below it

# Reference builds without any cache; the good export.
build ref ref-A A || fail "reference build A: $(tail -n 12 log.ref-A)"
build ref ref-B B || fail "reference build B: $(tail -n 12 log.ref-B)"
build exp exp A --cache-to "type=local,dest=$W/good,mode=max" || fail "export: $(tail -n 12 log.exp)"
[ -f good/index.json ] || fail "the export wrote no index.json"
# A good cache gives remote hits, and no warning.
build root.ok ok A --cache-from "type=local,src=$W/good" || fail "good cache: $(tail -n 12 log.ok)"
grep -q "CACHED (remote local:$W/good)" log.ok || fail "good cache: no remote hit"
! grep -q '^WARNING' log.ok || fail "good cache: $(grep '^WARNING' log.ok)"

# --- bad layers in an OCI layout: the hit is taken, the fetch fails, the steps run
fresh missing
rm -f "$(lay blob-with missing app/built.txt)"
hostile missing-A A 'cache layer not used: cache local:.*missing' --cache-from "type=local,src=$W/missing"
hostile missing-B B 'cache layer not used' --cache-from "type=local,src=$W/missing"
grep -qE '^#[0-9]+ CACHED \(remote' log.missing-A || bad "missing-A: no remote hit at all (the good layers should hit)"

fresh wrongdigest
f=$(lay blob-with wrongdigest app/built.txt)
python3 -c 'import sys; p=sys.argv[1]; b=open(p,"rb").read(); open(p,"wb").write(b[::-1])' "$f"
hostile wrongdigest-A A 'cache layer not used: .*digest mismatch' --cache-from "type=local,src=$W/wrongdigest"
hostile wrongdigest-B B 'cache layer not used: .*digest mismatch' --cache-from "type=local,src=$W/wrongdigest"

fresh evil
lay evil-layer evil app/built.txt
hostile evil-A A 'cache layer not used: .*does not match diff_id' --cache-from "type=local,src=$W/evil"
hostile evil-B B 'cache layer not used: .*does not match diff_id' --cache-from "type=local,src=$W/evil"

# an export (mode=max) of a build whose builder-stage hits lead to a bad layer no
# step needed: those records are left out, the rest is exported
fresh evil-builder
lay evil-layer evil-builder built.txt
rm -rf root.re-export re-export
build root.re-export re-export A --cache-from "type=local,src=$W/evil-builder" \
  --cache-to "type=local,dest=$W/re-export,mode=max" || bad "re-export: the build failed: $(tail -n 8 log.re-export)"
grep -q "left out: .*does not match diff_id" log.re-export || bad "re-export: the bad layer was not left out"
diff -r --no-dereference fs.ref-A fs.re-export >/dev/null 2>&1 || bad "re-export: the image's files differ"
MKIMAGE_ROOT=$W/root.re-export "$MKIMAGE" store check >check.re-export 2>&1 || bad "re-export: store check failed"
hostile from-re-export B 'cache local:.*nodir not used' --cache-from "type=local,src=$W/re-export" \
  --cache-from "type=local,src=$W/nodir"
grep -qE '^#[0-9]+ CACHED \(remote local:.*/re-export\)' log.from-re-export || bad "from-re-export: no remote hit"

# --- caches that cannot be read: not used --------------------------------------
fresh v2 && lay version v2 2
hostile v2 A 'not used: cache format version 2 is not supported \(this mkimage reads version 1\)' \
  --cache-from "type=local,src=$W/v2"
fresh tmanifest && lay truncate-manifest tmanifest
hostile tmanifest A "cache local:$W/tmanifest not used" --cache-from "type=local,src=$W/tmanifest"
fresh tconfig && lay truncate-config tconfig
hostile tconfig A "cache local:$W/tconfig not used" --cache-from "type=local,src=$W/tconfig"
fresh gconfig && lay garbage-config gconfig
hostile gconfig A "cache local:$W/gconfig not used" --cache-from "type=local,src=$W/gconfig"
fresh gindex && head -c 100 /dev/urandom >gindex/index.json
hostile gindex A "cache local:$W/gindex not used" --cache-from "type=local,src=$W/gindex"
hostile nodir A "cache local:$W/nodir not used: it holds no cache" --cache-from "type=local,src=$W/nodir"

# --- a registry holding bad caches (pushed with curl) ---------------------------
push_layout good app-cache good
hostile reg-good A "cache local:$W/nodir not used" --cache-from "type=registry,ref=$R/app-cache:good" --cache-from "type=local,src=$W/nodir"
grep -q "CACHED (remote $R/app-cache:good)" log.reg-good || bad "reg-good: no remote hit from the pushed cache"
hostile reg-noref A "cache $R/app-cache:new-branch not used: it holds no cache" \
  --cache-from "type=registry,ref=$R/app-cache:new-branch"
hostile reg-norepo A "cache $R/no-such-repo:main not used: it holds no cache" \
  --cache-from "type=registry,ref=$R/no-such-repo:main"
fresh r-evil && lay evil-layer r-evil app/built.txt && push_layout r-evil evil-cache main
hostile reg-evil B 'cache layer not used: .*does not match diff_id' --cache-from "type=registry,ref=$R/evil-cache:main"
fresh r-v2 && lay version r-v2 2 && push_layout r-v2 v2-cache main
hostile reg-v2 A 'cache format version 2 is not supported' --cache-from "type=registry,ref=$R/v2-cache:main"
fresh r-garbage && lay garbage-config r-garbage && push_layout r-garbage garbage-cache main
hostile reg-garbage A "cache $R/garbage-cache:main not used" --cache-from "type=registry,ref=$R/garbage-cache:main"
# blobs spoiled in the registry's storage: missing, other bytes
push_layout good spoiled-cache missing
push_layout good spoiled-cache wrong
blob=$(basename "$(lay blob-with good app/built.txt)")
cp -a "$(reg_blob "$blob")" blob.saved
python3 -c 'import sys; p=sys.argv[1]; b=open(p,"rb").read(); open(p,"wb").write(b[::-1])' "$(reg_blob "$blob")"
hostile reg-wrong A 'cache layer not used: .*digest mismatch' --cache-from "type=registry,ref=$R/spoiled-cache:wrong"
rm -f "$(reg_blob "$blob")"
hostile reg-missing B 'cache layer not used' --cache-from "type=registry,ref=$R/spoiled-cache:missing"
cp -a blob.saved "$(reg_blob "$blob")"

# --- exports that fail: an error naming the cache ref, or a warning with ignore-error
mkdir -p rodir
if mount -t tmpfs -o ro,size=1m tmpfs rodir 2>/dev/null; then
  if build exp ro-fail A --cache-to "type=local,dest=$W/rodir/cache"; then
    bad "ro-fail: an export to a read-only directory did not fail the build"
  fi
  grep -q "failed to export cache.*$W/rodir/cache" log.ro-fail || bad "ro-fail: the error does not name the dest: $(tail -n 3 log.ro-fail)"
  build exp ro-ignore A --cache-to "type=local,dest=$W/rodir/cache,ignore-error=true" ||
    bad "ro-ignore: the build failed: $(tail -n 5 log.ro-ignore)"
  grep -q "^WARNING: failed to export cache (ignore-error=true): .*$W/rodir/cache" log.ro-ignore ||
    bad "ro-ignore: no warning: $(tail -n 3 log.ro-ignore)"
  umount rodir
else
  echo "$TEST: note: cannot mount a read-only tmpfs; read-only dest not tested"
fi
# the registry is gone: an import is a miss, an export an error or a warning
rm -rf root.reg-down
MKIMAGE_ROOT=$W/root.reg-down "$MKIMAGE" pull -q "$R/base:1" >/dev/null || fail "pull base:1"
reg_stop main
PRESEEDED=1 hostile reg-down A "cache $R/app-cache:good not used" --cache-from "type=registry,ref=$R/app-cache:good"
if build exp down-fail A --cache-to "type=registry,ref=$R/app-cache:out"; then
  bad "down-fail: an export to a stopped registry did not fail the build"
fi
grep -q "failed to export cache: .*$R/app-cache:out" log.down-fail || bad "down-fail: the error does not name the ref: $(tail -n 3 log.down-fail)"
build exp down-ignore A --cache-to "type=registry,ref=$R/app-cache:out,ignore-error=true" ||
  bad "down-ignore: the build failed: $(tail -n 5 log.down-ignore)"
grep -q "^WARNING: failed to export cache (ignore-error=true): .*$R/app-cache:out" log.down-ignore ||
  bad "down-ignore: no warning: $(tail -n 3 log.down-ignore)"
MKIMAGE_ROOT=$W/exp "$MKIMAGE" store check >check.exp 2>&1 || bad "exp: store check: $(tail -n 5 check.exp)"

[ "$BAD" = 0 ] || fail "$BAD check(s) failed"
pass
