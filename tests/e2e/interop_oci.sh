#!/usr/bin/env bash
# Interop of images leaving the store: an image made with `mkimage import`
# (static busybox rootfs) is saved as oci-archive and docker-archive and read by
# skopeo (inspect, copy) and umoci (unpack), and the store root itself is read as
# an OCI layout. load(save(x)) must give the same digests: saving the loaded image
# again gives byte-identical archives. Env: MKIMAGE (binary). Exit 77 = skipped.
set -euo pipefail
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
for tool in skopeo umoci python3 gzip; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (scripts/deps.sh installs it)"; exit 77; }
done
[ -x /bin/busybox ] || { echo "skipped: /bin/busybox (busybox-static) is missing"; exit 77; }

W=$(mktemp -d /tmp/mkimage-interop-oci.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }
export MKIMAGE_ROOT=$W/root

mkdir -p rootfs/bin rootfs/etc
cp /bin/busybox rootfs/bin/busybox
ln -s busybox rootfs/bin/sh
echo 'root:x:0:0:root:/root:/bin/sh' >rootfs/etc/passwd
tar -C rootfs -czf rootfs.tgz .
id=$("$MKIMAGE" import rootfs.tgz interop:1 -c 'CMD ["/bin/sh"]' -c 'ENV GREETING=hello' -c 'WORKDIR /srv') ||
  fail "import failed"
[[ $id == sha256:* ]] || fail "import printed '$id', want an image ID"

"$MKIMAGE" save --format oci-archive -o img.oci.tar interop:1 || fail "save oci-archive"
"$MKIMAGE" save -o img.docker.tar interop:1 || fail "save docker-archive"
"$MKIMAGE" save --format oci-archive --compression zstd -o img.zstd.tar interop:1 || fail "save zstd"

# skopeo reads the OCI archive, the docker archive and the store root
for src in oci-archive:img.oci.tar "oci:$MKIMAGE_ROOT:interop:1" docker-archive:img.docker.tar oci-archive:img.zstd.tar; do
  skopeo inspect --config "$src" >cfg.json 2>err.txt || fail "skopeo inspect $src: $(cat err.txt)"
  python3 - "$id" <<'PY' || fail "skopeo sees a wrong config for $src"
import hashlib, json, sys
raw = open("cfg.json", "rb").read()
c = json.loads(raw)
assert c["config"]["Cmd"] == ["/bin/sh"], c["config"]
assert "GREETING=hello" in c["config"]["Env"], c["config"]
assert c["config"]["WorkingDir"] == "/srv", c["config"]
assert len(c["rootfs"]["diff_ids"]) == 1
PY
done
skopeo copy -q oci-archive:img.oci.tar oci:copied:interop || fail "skopeo copy oci-archive: failed"
[ -f copied/index.json ] || fail "skopeo copy wrote no index.json"

# umoci unpacks the saved layout and the store root
mkdir layout && tar -C layout -xf img.oci.tar
umoci unpack --image layout:interop:1 bundle1 >/dev/null || fail "umoci unpack of the oci-archive"
umoci unpack --image "$MKIMAGE_ROOT:interop:1" bundle2 >/dev/null || fail "umoci unpack of the store root"
for b in bundle1 bundle2; do
  cmp -s "$b/rootfs/bin/busybox" /bin/busybox || fail "$b: busybox differs"
  [ "$(readlink "$b/rootfs/bin/sh")" = busybox ] || fail "$b: /bin/sh is not the symlink"
done

# load(save(x)): tags restored, and saving the loaded image again gives the same bytes
for f in img.oci.tar img.docker.tar img.zstd.tar; do
  rm -rf root2
  out=$(MKIMAGE_ROOT=$W/root2 "$MKIMAGE" load -i "$f") || fail "load $f"
  [ "$out" = "Loaded image: interop:1" ] || fail "load $f printed '$out'"
  [ -f "$W/root2/blobs/sha256/${id#sha256:}" ] || fail "load $f: config blob (image ID) differs"
done
rm -rf root2
MKIMAGE_ROOT=$W/root2 "$MKIMAGE" load -i img.oci.tar >/dev/null
MKIMAGE_ROOT=$W/root2 "$MKIMAGE" save --format oci-archive -o again.oci.tar interop:1
cmp -s img.oci.tar again.oci.tar || fail "oci-archive: save(load(save(x))) differs from save(x)"
rm -rf root2
gzip -c img.docker.tar >img.docker.tar.gz
MKIMAGE_ROOT=$W/root2 "$MKIMAGE" load <img.docker.tar.gz >/dev/null || fail "load of a gzip-compressed docker archive from stdin"
MKIMAGE_ROOT=$W/root2 "$MKIMAGE" save -o again.docker.tar interop:1
cmp -s img.docker.tar again.docker.tar || fail "docker-archive: save(load(save(x))) differs from save(x)"
echo "interop_oci: ok"
