#!/usr/bin/env bash
# Push and pull against a no-auth docker-registry on 127.0.0.1: an imported
# busybox image goes up (digest and size as skopeo sees them, OCI manifest),
# a second push reuses the layer, a pull into an empty store gives the same
# image ID and files, pulls by tag/digest are "up to date" the second time, a
# push to another repository mounts the layer, and images pushed by skopeo
# (gzip layers, a multi-platform index) are pulled with the platform asked for.
# Env: MKIMAGE (binary). Exit 77 = skipped.
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
source "$(dirname "$0")/registry_lib.bash"
command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh installs it)"
set -o pipefail

# field ROOT REF PYEXPR: evaluates PYEXPR on `image inspect`'s first object (j) in store ROOT
field() {
  MKIMAGE_ROOT=$1 "$MKIMAGE" image inspect "$2" >"$W/inspect.json" 2>"$W/inspect.err" ||
    { echo "inspect failed: $(cat "$W/inspect.err")"; return 1; }
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))[0]; print(eval(sys.argv[2]))' "$W/inspect.json" "$3" "${@:4}"
}
# img_file ROOT REF PATH: prints file PATH of image REF in store ROOT (mkimage save, layers in order)
img_file() {
  MKIMAGE_ROOT=$1 "$MKIMAGE" save -o "$W/save.tar" "$2" 2>"$W/save.err" || { echo "save failed: $(cat "$W/save.err")" >&2; return 1; }
  python3 - "$W/save.tar" "$3" <<'PY'
import io, json, sys, tarfile
outer = tarfile.open(sys.argv[1])
want = sys.argv[2].strip("/")
data = None
for layer in json.load(outer.extractfile("manifest.json"))[0]["Layers"]:
    t = tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read()), mode="r:*")
    for ti in t:
        name = ti.name[2:] if ti.name.startswith("./") else ti.name
        if name.strip("/") == want:
            data = t.extractfile(ti).read() if ti.isfile() else None
if data is None:
    sys.exit("no regular file " + want)
sys.stdout.buffer.write(data)
PY
}
# digest_of REF: the manifest digest skopeo reports
digest_of() { skopeo inspect --authfile "$REG_AUTHFILE" --tls-verify=false "docker://$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'; }

case $(uname -m) in
  x86_64) HOST_ARCH=amd64 ;;
  aarch64) HOST_ARCH=arm64 ;;
  *) HOST_ARCH= ;;
esac

reg_start main none
R=$REG_ADDR

# --- push ---------------------------------------------------------------
mk_busybox_image bb:1
ORIG_ID=$IMG_ID
m_ok tag tag bb:1 "$R/bb:1"
m_ok push1 push "$R/bb:1"
line=$(grep -E '^1: digest: sha256:[0-9a-f]{64} size: [0-9]+$' "$W/out.push1") ||
  fail "push printed no '1: digest: sha256:… size: N' line: $(cat "$W/out.push1")"
DIGEST=$(echo "$line" | awk '{print $3}')
SIZE=$(echo "$line" | awk '{print $5}')
has push1 "Pushed"
got=$(digest_of "$R/bb:1") || fail "skopeo inspect $R/bb:1 failed"
[ "$got" = "$DIGEST" ] || bad "push printed digest $DIGEST, the registry has $got"
reg_manifest "$R/bb:1" >"$W/manifest.json" || fail "skopeo inspect --raw $R/bb:1 failed"
[ "sha256:$(sha256sum <"$W/manifest.json" | cut -d' ' -f1)" = "$DIGEST" ] || bad "the raw manifest does not hash to $DIGEST"
[ "$(stat -c %s "$W/manifest.json")" = "$SIZE" ] || bad "push printed size $SIZE, the manifest has $(stat -c %s "$W/manifest.json") bytes"
mt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("mediaType"))' "$W/manifest.json")
[ "$mt" = application/vnd.oci.image.manifest.v1+json ] || bad "pushed manifest mediaType is $mt"
ctype=$(curl -sf -o /dev/null -D - -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/bb/manifests/1" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="content-type"{print $2}')
[ "$ctype" = application/vnd.oci.image.manifest.v1+json ] || bad "registry serves the manifest as '$ctype'"
cfg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$W/manifest.json")
[ "$cfg" = "$ORIG_ID" ] || bad "pushed config digest $cfg is not the image ID $ORIG_ID"
rd=$(field "$MKIMAGE_ROOT" "$R/bb:1" 'j["RepoDigests"]') || fail "$rd"
[[ $rd == *"'$R/bb@$DIGEST'"* ]] || bad "after the push, RepoDigests $rd lack $R/bb@$DIGEST"

m_ok push2 push "$R/bb:1"
has push2 "Layer already exists"
lacks push2 "Pushed"
grep -qxF "1: digest: $DIGEST size: $SIZE" "$W/out.push2" || bad "second push: digest line differs: $(tail -n 1 "$W/out.push2")"

# --- pull into an empty store ------------------------------------------
S2=$W/root2
MKIMAGE_ROOT=$S2 m_ok pull1 pull "$R/bb:1"
has pull1 "Status: Downloaded newer image for $R/bb:1"
has pull1 "Digest: $DIGEST"
id=$(field "$S2" "$R/bb:1" 'j["Id"]') || fail "$id"
[ "$id" = "$ORIG_ID" ] || bad "pulled image ID $id, pushed $ORIG_ID"
rd=$(field "$S2" "$R/bb:1" 'j["RepoDigests"]') || fail "$rd"
[[ $rd == *"'$R/bb@$DIGEST'"* ]] || bad "after the pull, RepoDigests $rd lack $R/bb@$DIGEST"
img_file "$S2" "$R/bb:1" bin/busybox >"$W/busybox.pulled" || fail "no /bin/busybox in the pulled image"
cmp -s "$W/busybox.pulled" /bin/busybox || bad "pulled /bin/busybox differs from /bin/busybox"
[ "$(img_file "$S2" "$R/bb:1" etc/passwd)" = 'root:x:0:0:root:/root:/bin/sh' ] || bad "pulled /etc/passwd differs"
MKIMAGE_ROOT=$S2 m_ok pull2 pull "$R/bb:1"
has pull2 "Status: Image is up to date for $R/bb:1"
lacks pull2 "Pull complete"
MKIMAGE_ROOT=$S2 m_ok pull3 pull "$R/bb@$DIGEST"
has pull3 "Status: Image is up to date for $R/bb@$DIGEST"

# by digest into a third, empty store
S3=$W/root3
MKIMAGE_ROOT=$S3 m_ok pulld pull "$R/bb@$DIGEST"
has pulld "Status: Downloaded newer image for $R/bb@$DIGEST"
id=$(MKIMAGE_ROOT=$S3 "$MKIMAGE" images -q --no-trunc) || fail "images -q failed"
[ "$id" = "$ORIG_ID" ] || bad "pull by digest: store has '$id', want $ORIG_ID"

# --- run the pulled image -----------------------------------------------
if [ "$(id -u)" != 0 ]; then
  echo "$TEST: note: not root, skipping 'mkimage run' of the pulled image"
elif ! command -v runc >/dev/null; then
  echo "$TEST: note: runc is not installed, skipping 'mkimage run' of the pulled image"
else
  MKIMAGE_ROOT=$S2 m run run --rm "$R/bb:1" /bin/busybox echo hi || bad "run of the pulled image failed: $(tail -n 5 "$W/err.run")"
  [ "$(cat "$W/out.run")" = hi ] || bad "run printed '$(cat "$W/out.run")', want 'hi'"
  left=$(MKIMAGE_ROOT=$S2 "$MKIMAGE" ps -a -q 2>/dev/null)
  [ -z "$left" ] || bad "run --rm left containers: $left"
  if grep -qF " $W/" /proc/self/mountinfo; then
    bad "run --rm left mounts: $(grep -F " $W/" /proc/self/mountinfo | awk '{print $5}' | head -n 3)"
    grep -F " $W/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  fi
fi

# --- cross-repository mount from a store that pulled the layer -----------
MKIMAGE_ROOT=$S2 m_ok tag2 tag "$R/bb:1" "$R/other:1"
MKIMAGE_ROOT=$S2 m_ok pushm push "$R/other:1"
has pushm "Mounted from bb"
lacks pushm "Pushed"
n=$(log_count "$REG_LOG" '"POST /v2/other/blobs/uploads/\?mount=sha256%3A[0-9a-f]{64}&from=bb HTTP/1.1" 201')
[ "$n" -ge 1 ] || bad "the registry log shows no mount POST answered 201"
got=$(digest_of "$R/other:1") || fail "skopeo inspect $R/other:1 failed"
[ "$got" = "$DIGEST" ] || bad "$R/other:1 has digest $got, want $DIGEST (same manifest as bb:1)"

# --- an image pushed by skopeo from an OCI layout (gzip layers) ----------
reg_seed "$R/seeded:1"
SEEDED=$SEED_DIGEST
S4=$W/root4
MKIMAGE_ROOT=$S4 m_ok pulls pull "$R/seeded:1"
has pulls "Digest: $SEEDED"
has pulls "Status: Downloaded newer image for $R/seeded:1"
want=$(reg_manifest "$R/seeded:1" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"], " ".join(l["mediaType"] for l in m["layers"]))')
[[ $want == *tar+gzip* ]] || bad "seeded layers are not gzip: $want"
id=$(field "$S4" "$R/seeded:1" 'j["Id"]') || fail "$id"
[ "$id" = "${want%% *}" ] || bad "seeded image ID $id, config digest ${want%% *}"
[ "$(img_file "$S4" "$R/seeded:1" platform)" = linux/amd64 ] || bad "seeded image: /platform is not linux/amd64"
img_file "$S4" "$R/seeded:1" bin/busybox | cmp -s - /bin/busybox || bad "seeded image: /bin/busybox differs"

# --- a multi-platform index --------------------------------------------------
reg_seed "$R/multi:1" --platforms linux/amd64,linux/arm64 --marker multi
INDEX=$SEED_DIGEST
reg_manifest "$R/multi:1" >"$W/index.json" || fail "skopeo inspect --raw $R/multi:1 failed"
declare -A CHILD CFG
for a in amd64 arm64; do
  CHILD[$a]=$(python3 -c 'import json,sys; print([d["digest"] for d in json.load(open(sys.argv[1]))["manifests"] if d["platform"]["architecture"]==sys.argv[2]][0])' "$W/index.json" "$a") ||
    fail "the index has no $a entry"
  CFG[$a]=$(reg_manifest "$R/multi@${CHILD[$a]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])') ||
    fail "no $a manifest"
done
S5=$W/root5
if [ -n "$HOST_ARCH" ]; then
  MKIMAGE_ROOT=$S5 m_ok pullx pull "$R/multi:1"
  has pullx "Digest: $INDEX"
  [ "$(field "$S5" "$R/multi:1" 'j["Architecture"]')" = "$HOST_ARCH" ] || bad "default pull of the index: Architecture is not $HOST_ARCH"
  [ "$(field "$S5" "$R/multi:1" 'j["Id"]')" = "${CFG[$HOST_ARCH]}" ] || bad "default pull of the index: ID is not the $HOST_ARCH config ${CFG[$HOST_ARCH]}"
  [ "$(img_file "$S5" "$R/multi:1" platform)" = "linux/${HOST_ARCH}multi" ] || bad "default pull: /platform is not linux/${HOST_ARCH}multi"
else
  echo "$TEST: note: host architecture $(uname -m) is neither amd64 nor arm64, skipping the default-platform pull"
fi
# the other platform, in the same store (the tag moves) and in an empty one
MKIMAGE_ROOT=$S5 m_ok pulla pull --platform linux/arm64 "$R/multi:1"
arch=$(field "$S5" "$R/multi:1" 'j["Architecture"]')
[ "$arch" = arm64 ] || bad "pull --platform linux/arm64 after a default pull: Architecture is $arch, want arm64 (output: $(grep Status "$W/out.pulla"))"
S6=$W/root6
MKIMAGE_ROOT=$S6 m_ok pullb pull --platform linux/arm64 "$R/multi:1"
has pullb "Status: Downloaded newer image for $R/multi:1"
[ "$(field "$S6" "$R/multi:1" 'j["Architecture"]')" = arm64 ] || bad "pull --platform linux/arm64: Architecture is not arm64"
[ "$(field "$S6" "$R/multi:1" 'j["Id"]')" = "${CFG[arm64]}" ] || bad "pull --platform linux/arm64: ID is not the arm64 config ${CFG[arm64]}"
[ "$(img_file "$S6" "$R/multi:1" platform)" = linux/arm64multi ] || bad "arm64 pull: /platform is not linux/arm64multi"
MKIMAGE_ROOT=$S6 "$MKIMAGE" images -a --no-trunc --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}' >"$W/images.before" 2>&1
if MKIMAGE_ROOT=$S6 m s390x pull --platform linux/s390x "$R/multi:1"; then
  bad "pull --platform linux/s390x succeeded"
else
  has s390x "no matching manifest"
fi
MKIMAGE_ROOT=$S6 "$MKIMAGE" images -a --no-trunc --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}' >"$W/images.after" 2>&1
cmp -s "$W/images.before" "$W/images.after" || bad "a failed s390x pull changed the image list: $(diff "$W/images.before" "$W/images.after")"

# --- -a/--all-tags: every local tag of a repository up, every remote tag down ---
SA=$W/root-alltags
export MKIMAGE_ROOT=$W/root
m_ok tag_all1 tag bb:1 "$R/all:one"
m_ok tag_all2 tag bb:1 "$R/all:two"
m_ok push_all push -a "$R/all"
has push_all "one: digest: sha256:"
has push_all "two: digest: sha256:"
if m push_all_tag push -a "$R/all:one"; then bad "push -a with a tag succeeded"; else has push_all_tag "tag can't be used with --all-tags"; fi
MKIMAGE_ROOT=$SA m_ok pull_all pull -a "$R/all"
has pull_all "Status: Downloaded newer image for $R/all"
[ "$(image_id "$SA" "$R/all:one")" = "$(image_id "$W/root" bb:1)" ] || bad "pull -a: all:one has another image ID"
[ "$(image_id "$SA" "$R/all:two")" = "$(image_id "$W/root" bb:1)" ] || bad "pull -a: all:two has another image ID"

# --- rmi NAME@DIGEST removes that registry digest; the tagged image stays ------
rd=$(field "$SA" "$R/all:one" '[d for d in j["RepoDigests"] if d.startswith(sys.argv[3] + "/all@")][0]' "$R") ||
  bad "no RepoDigest for $R/all after pull -a"
if [ -n "${rd:-}" ]; then
  MKIMAGE_ROOT=$SA m_ok rmi_digest rmi "$rd"
  has rmi_digest "Untagged: $rd"
  [ "$(field "$SA" "$R/all:one" 'len([d for d in j["RepoDigests"] if d == sys.argv[3]])' "$rd")" = 0 ] ||
    bad "rmi $rd left the RepoDigest"
  [ "$(image_id "$SA" "$R/all:one")" = "$(image_id "$W/root" bb:1)" ] || bad "rmi of a digest removed the tagged image"
fi

[ "$BAD" = 0 ] || fail "$BAD check(s) failed"
pass
