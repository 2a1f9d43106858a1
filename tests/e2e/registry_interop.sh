#!/usr/bin/env bash
# Registry interop, both ways, through a throwaway no-auth docker-registry on
# 127.0.0.1: what `mkimage build --push` and `mkimage push` put there must be read
# by skopeo, docker 20.10 and podman, and what they put there must be pulled by
# `mkimage pull` (same image ID = config digest) and built FROM (a RUN step).
#   skopeo: inspect --raw of mkimage's push (OCI media types), copy to an oci:
#           dir (same manifest and layer digests); skopeo-pushed images with gzip
#           and zstd layers, a docker v2s2 manifest and a multi-arch index
#           (linux/amd64 picked, --platform honoured) → mkimage pull → build.
#   docker: /usr/bin/docker (Debian's docker.io 20.10) against a private dockerd
#           (--iptables=false --bridge=none, data/exec root and socket under the
#           scratch dir): pull + run of mkimage's push; docker load of a
#           `mkimage save` archive + docker push → mkimage pull → build.
#   podman: private --root/--runroot: pull + run of mkimage's push; podman
#           import + push → mkimage pull → build.
# A peer that is missing prints "SKIPPED: <peer>: <why>" and the others run; the
# test exits 77 only when no peer at all can run, 1 when any check failed.
# Env: MKIMAGE, MKIMAGE_SOURCE_DIR (ctest sets them). KEEP=1 keeps the scratch dir.
# MKIMAGE_TEST_DOCKER / MKIMAGE_TEST_DOCKERD: other docker binaries (default
# /usr/bin/docker, /usr/sbin/dockerd).
#   MKIMAGE=build/mkimage bash tests/e2e/registry_interop.sh
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions run through `check`
source "$(dirname "$0")/registry_lib.bash"
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
[ "$(id -u)" = 0 ] || skip "needs root (RUN steps under runc, dockerd, podman)"
command -v runc >/dev/null || skip "runc is not installed (scripts/deps.sh installs it)"
[ -x /bin/busybox ] || skip "/bin/busybox (busybox-static) is not installed"

# Debian's docker.io, not whatever else is on PATH
DOCKER=${MKIMAGE_TEST_DOCKER:-/usr/bin/docker}
DOCKERD=${MKIMAGE_TEST_DOCKERD:-/usr/sbin/dockerd}
PODMAN_OPTS=(--root "$W/podman" --runroot "$W/podman-run" --tmpdir "$W/podman-tmp"
  --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
PODMAN_RUN=(--network=host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
dk() { timeout 120 "$DOCKER" "$@"; }
pm() { REGISTRY_AUTH_FILE=$REG_AUTHFILE timeout 120 podman "${PODMAN_OPTS[@]}" "$@"; }
mk() { timeout 300 "$MKIMAGE" "$@"; }

dockerd_pid=
podman_used=
# _pids_under DIR: pids of processes whose command line names DIR
_pids_under() {
  local p
  for p in /proc/[0-9]*; do
    grep -qF -- "$1" < <(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) && echo "${p#/proc/}"
  done
}
interop_cleanup() {
  local p _
  if [ -n "$podman_used" ]; then
    pm rm -af -t 0 >/dev/null 2>&1 || true
  fi
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    # its containerd and shims, if dockerd could not take them down
    for p in $(_pids_under "$W/docker-exec") $(_pids_under "$W/docker-data"); do kill -KILL "$p" 2>/dev/null; done
  fi
  # dockerd and podman leave mounts (overlay, netns, shm) under their roots
  grep -o " $W/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  reg_cleanup
}
trap interop_cleanup EXIT

# --- checks: each runs in a subshell; fail/skip there end only that check -----
FAILED_PEERS=() RAN_PEERS=()
# peer_failed PEER / peer_ran PEER: note it once
peer_failed() { [[ " ${FAILED_PEERS[*]} " == *" $1 "* ]] || FAILED_PEERS+=("$1"); }
peer_ran() { [[ " ${RAN_PEERS[*]} " == *" $1 "* ]] || RAN_PEERS+=("$1"); }
check() { # check PEER NAME FUNCTION [ARGS...]
  local peer=$1 name=$2 rc t0=$EPOCHREALTIME; shift 2
  ( "$@" )
  rc=$?
  local secs; secs=$(python3 -c "print(f'{$EPOCHREALTIME - $t0:.1f}')")
  case $rc in
    0) echo "ok: $peer: $name (${secs}s)"; peer_ran "$peer" ;;
    *) echo "FAILED: $peer: $name (exit $rc, ${secs}s)"; peer_failed "$peer"; peer_ran "$peer" ;;
  esac
}
SKIPPED=()
peer_skip() { echo "SKIPPED: $1: $2"; SKIPPED+=("$1"); }

# man_get REPO REF OUT: GETs the manifest/index REF of REPO into OUT (accepting OCI
# and docker media types); prints its digest (sha256 of the bytes). Fails the check.
man_get() {
  curl -fsS -o "$3" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REG_ADDR/v2/$1/manifests/$2" >&2 || fail "GET manifest $1:$2 failed" >&2
  echo "sha256:$(sha256sum <"$3" | cut -d' ' -f1)"
}
# jget FILE PYTHON-EXPR: evaluates EXPR on the JSON d of FILE, prints it
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# mk_id REF: the image ID mkimage has for REF (use as x=$(mk_id REF) || exit 1)
mk_id() { mk image inspect -f '{{.Id}}' "$1" || fail "mkimage image inspect $1 failed" >&2; }
# mk_pull REF: mkimage pull into the current MKIMAGE_ROOT; must succeed
mk_pull() { local out; out=$(mk pull "$@" 2>&1) || fail "mkimage pull $*: $out"; }
# build_from LABEL BASE RUN-COMMAND WANT: builds `FROM BASE` + `RUN RUN-COMMAND > /out`
#   in the current store; `mkimage run` of the result must print WANT from /out.
build_from() {
  local l=$1 base=$2 cmd=$3 want=$4 got d=$W/ctx.$1
  mkdir -p "$d"
  printf 'FROM %s\nRUN (%s) > /out\nCMD ["/bin/sh"]\n' "$base" "$cmd" >"$d/Dockerfile"
  mk build --progress plain -t "interop-$l:1" "$d" >"$W/build.$l.log" 2>&1 ||
    { tail -n 20 "$W/build.$l.log"; fail "mkimage build FROM $base failed"; }
  got=$(mk run --rm "interop-$l:1" /bin/busybox cat /out 2>&1) || fail "mkimage run interop-$l:1: $got"
  [ "$got" = "$want" ] || fail "the RUN step FROM $base wrote '$got', want '$want'"
}

reg_start main none
R=$REG_ADDR
echo "registry: $R"

# --- what mkimage pushes: a 3-layer image built FROM an imported busybox -------
mk_busybox_image interop-base:1 "interop-base-$RANDOM$RANDOM"
mkdir -p "$W/ctx.mk"
head -c 300000 /dev/urandom >"$W/ctx.mk/data.bin"
printf '%s\n' 'FROM interop-base:1' 'COPY data.bin /data/data.bin' \
  'RUN echo built-by-mkimage > /hi && /bin/busybox sha256sum /data/data.bin > /data/sum' \
  'CMD ["/bin/sh"]' >"$W/ctx.mk/Dockerfile"
# build --push puts it into interop/built:1; `mkimage tag` + `mkimage push` into
# interop/mk:1 (MK_REF, what the peers read): the same image, the same manifest
MK_REPO=interop/mk
MK_REF=$R/$MK_REPO:1
BUILT_REF=$R/interop/built:1
MK_ID=
MK_DIGEST=
data_sum=$(sha256sum <"$W/ctx.mk/data.bin" | cut -d' ' -f1)
# mk_repo_digest_is REF REPO DIGEST: mkimage's RepoDigests of REF hold REPO@DIGEST
mk_repo_digest_is() {
  mk image inspect -f '{{json .RepoDigests}}' "$1" | grep -qF "\"$R/$2@$3\"" ||
    { echo "FAILED: mkimage: RepoDigests of $1 lack $R/$2@$3: $(mk image inspect -f '{{json .RepoDigests}}' "$1")"; peer_failed mkimage; }
}
if ! out=$(mk build --progress plain --push -t "$BUILT_REF" "$W/ctx.mk" 2>&1) ||
  ! built_digest=$(man_get interop/built 1 "$W/built-manifest.json"); then
  echo "$out" | tail -n 20
  echo "FAILED: mkimage: build --push -t $BUILT_REF"
  peer_failed mkimage
elif ! out=$(mk tag "$BUILT_REF" "$MK_REF" 2>&1 && mk push "$MK_REF" 2>&1) ||
  ! MK_DIGEST=$(man_get "$MK_REPO" 1 "$W/mk-manifest.json"); then
  echo "$out" | tail -n 20
  echo "FAILED: mkimage: push $MK_REF"
  peer_failed mkimage
else
  MK_ID=$(mk image inspect -f '{{.Id}}' "$MK_REF")
  echo "ok: mkimage: build --push $BUILT_REF, push $MK_REF ($MK_ID, manifest $MK_DIGEST)"
  [ "$built_digest" = "$MK_DIGEST" ] ||
    { echo "FAILED: mkimage: the same image pushed twice: $BUILT_REF is $built_digest, $MK_REF is $MK_DIGEST"; peer_failed mkimage; }
  # the digests mkimage records for its pushes are the ones the registry serves
  mk_repo_digest_is "$MK_REF" "$MK_REPO" "$MK_DIGEST"
  mk_repo_digest_is "$BUILT_REF" interop/built "$built_digest"
fi
need_mk_push() { [ -n "$MK_ID" ] || fail "nothing to read: mkimage build --push / push failed"; }

# ================================= skopeo =======================================
sk() { timeout 120 skopeo "$@"; }
SK_TLS=(--authfile "$REG_AUTHFILE" --tls-verify=false)

sk_inspect_mk() {
  need_mk_push
  sk inspect --raw "${SK_TLS[@]}" "docker://$MK_REF" >"$W/sk-raw.json" || fail "skopeo inspect --raw $MK_REF"
  [ "sha256:$(sha256sum <"$W/sk-raw.json" | cut -d' ' -f1)" = "$MK_DIGEST" ] || fail "skopeo got other manifest bytes than curl"
  python3 - "$W/sk-raw.json" "$MK_ID" <<'PY' || fail "skopeo inspect --raw: $(cat "$W/sk-raw.json")"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2, m
assert m.get("mediaType") == "application/vnd.oci.image.manifest.v1+json", m.get("mediaType")
assert m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json", m["config"]
assert m["config"]["digest"] == sys.argv[2], (m["config"]["digest"], sys.argv[2])
assert len(m["layers"]) == 3, m["layers"]
for l in m["layers"]:
    assert l["mediaType"] in ("application/vnd.oci.image.layer.v1.tar+gzip",
                              "application/vnd.oci.image.layer.v1.tar+zstd",
                              "application/vnd.oci.image.layer.v1.tar"), l
print("skopeo inspect --raw:", m["mediaType"], "config", m["config"]["mediaType"],
      "layers", sorted({l["mediaType"] for l in m["layers"]}))
PY
  sk inspect --config "${SK_TLS[@]}" "docker://$MK_REF" >"$W/sk-config.json" || fail "skopeo inspect --config"
  [ "$(jget "$W/sk-config.json" 'd["config"]["Cmd"]')" = "['/bin/sh']" ] || fail "skopeo sees Cmd $(jget "$W/sk-config.json" 'd["config"].get("Cmd")')"
}

sk_copy_mk_to_oci() {
  need_mk_push
  local d=$W/sk-oci-mk err
  err=$(sk copy -q --authfile "$REG_AUTHFILE" --src-tls-verify=false "docker://$MK_REF" "oci:$d:mk" 2>&1) ||
    fail "skopeo copy docker://$MK_REF oci:: $err"
  python3 - "$d" "$W/mk-manifest.json" "$MK_DIGEST" <<'PY' || fail "the oci: copy differs from the registry's image"
import hashlib, json, os, sys
d, reg_path, reg_digest = sys.argv[1:]
reg = json.load(open(reg_path))
idx = json.load(open(os.path.join(d, "index.json")))
(desc,) = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "mk"]
def blob(dg):
    b = open(os.path.join(d, "blobs", *dg.split(":")), "rb").read()
    assert "sha256:" + hashlib.sha256(b).hexdigest() == dg, f"blob {dg} does not match its digest"
    return b
man = json.loads(blob(desc["digest"]))
assert desc["digest"] == reg_digest, f"manifest digest {desc['digest']} in the oci: dir, registry has {reg_digest}"
got = [l["digest"] for l in man["layers"]]
want = [l["digest"] for l in reg["layers"]]
assert got == want, (got, want)
assert man["config"]["digest"] == reg["config"]["digest"]
for l in man["layers"]:
    assert len(blob(l["digest"])) == l["size"], l
blob(man["config"]["digest"])
print("skopeo copy → oci:", len(got), "layers, digests match:", " ".join(x[7:19] for x in got))
PY
}

# seed_oci TAG MARKER [--platforms P]: a registry.py mkoci layout ($W/seed-src) with
#   a busybox layer and a /platform layer (content "<platform><MARKER>")
seed_oci() {
  local tag=$1 marker=$2; shift 2
  python3 "$REG_TOOLS/registry.py" mkoci --out "$W/seed-src" --tag "$tag" --marker="$marker" "$@" >/dev/null ||
    fail "registry.py mkoci failed"
}
# sk_push TAG DEST-REPO:TAG [skopeo copy options]: oci:$W/seed-src:TAG → registry
#   (SEED_SRC=DIR reads another layout)
sk_push() {
  local tag=$1 dst=$2 err; shift 2
  err=$(sk copy -q --all --authfile "$REG_AUTHFILE" --dest-tls-verify=false "$@" \
    "oci:${SEED_SRC:-$W/seed-src}:$tag" "docker://$R/$dst" 2>&1) || fail "skopeo copy $* → $dst: $err"
}
# skopeo-pushed image → mkimage pull (fresh store) → same ID → build FROM (RUN)
sk_to_mk() { # LABEL gzip|zstd|v2s2 LAYER-MEDIA-TYPE MANIFEST-MEDIA-TYPE
  local l=$1 how=$2 lmt=$3 mmt=$4 marker="-$1-$RANDOM$RANDOM" err
  export MKIMAGE_ROOT=$W/root.sk-$l
  seed_oci "$l" "$marker"
  case $how in
    gzip) sk_push "$l" "interop/sk-$l:1" ;;
    v2s2) sk_push "$l" "interop/sk-$l:1" --format v2s2 ;;
    zstd)
      # recompress into a layout of its own, then push those bytes as they are:
      # a direct --dest-compress-format zstd push would reuse the gzip busybox
      # layer an earlier check put into the registry
      err=$(sk copy -q --dest-compress-format zstd "oci:$W/seed-src:$l" "oci:$W/seed-zstd:$l" 2>&1) ||
        fail "skopeo copy --dest-compress-format zstd: $err"
      SEED_SRC=$W/seed-zstd sk_push "$l" "interop/sk-$l:1" --preserve-digests ;;
  esac
  man_get "interop/sk-$l" 1 "$W/sk-$l.json" >/dev/null || exit 1
  [ "$(jget "$W/sk-$l.json" 'd.get("mediaType")')" = "$mmt" ] || fail "skopeo pushed a $(jget "$W/sk-$l.json" 'd.get("mediaType")') manifest, want $mmt"
  [ "$(jget "$W/sk-$l.json" '" ".join(sorted({x["mediaType"] for x in d["layers"]}))')" = "$lmt" ] ||
    fail "skopeo pushed layers $(jget "$W/sk-$l.json" '[x["mediaType"] for x in d["layers"]]'), want $lmt"
  mk_pull "$R/interop/sk-$l:1"
  local want_id got_id
  want_id=$(jget "$W/sk-$l.json" 'd["config"]["digest"]')
  got_id=$(mk_id "$R/interop/sk-$l:1") || exit 1
  [ "$got_id" = "$want_id" ] || fail "mkimage pull gave image ID $got_id, the manifest's config is $want_id"
  build_from "sk-$l" "$R/interop/sk-$l:1" "cat /platform && echo run-ok" "linux/amd64$marker
run-ok"
}
sk_gzip() { sk_to_mk gzip gzip application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.manifest.v1+json; }
sk_zstd() { sk_to_mk zstd zstd application/vnd.oci.image.layer.v1.tar+zstd application/vnd.oci.image.manifest.v1+json; }
sk_v2s2() { sk_to_mk v2s2 v2s2 application/vnd.docker.image.rootfs.diff.tar.gzip application/vnd.docker.distribution.manifest.v2+json; }

# multi-arch index (arm64 listed first) → the host's linux/amd64 is picked
MULTI_MARKER="-multi-$RANDOM$RANDOM"
multi_seed() {
  [ -s "$W/multi-index.json" ] && return 0
  seed_oci multi "$MULTI_MARKER" --platforms linux/arm64,linux/amd64,linux/arm/v7
  sk_push multi interop/multi:1
  man_get interop/multi 1 "$W/multi-index.json" >/dev/null || exit 1
  [ "$(jget "$W/multi-index.json" 'd.get("mediaType")')" = application/vnd.oci.image.index.v1+json ] ||
    fail "interop/multi:1 is not an OCI index"
}
# multi_config ARCH: the config digest of the index's linux/ARCH manifest
multi_config() {
  local md
  md=$(jget "$W/multi-index.json" "[m['digest'] for m in d['manifests'] if m['platform']['architecture'] == '$1'][0]")
  man_get interop/multi "$md" "$W/multi-$1.json" >/dev/null || exit 1
  jget "$W/multi-$1.json" 'd["config"]["digest"]'
}
sk_multi() {
  export MKIMAGE_ROOT=$W/root.sk-multi
  multi_seed
  mk_pull "$R/interop/multi:1"
  local want got arch
  want=$(multi_config amd64) || exit 1
  got=$(mk_id "$R/interop/multi:1") || exit 1
  arch=$(mk image inspect -f '{{.Architecture}}' "$R/interop/multi:1")
  { [ "$got" = "$want" ] && [ "$arch" = amd64 ]; } || fail "mkimage pull of the index gave $got ($arch), want linux/amd64's $want"
  got=$(mk run --rm "$R/interop/multi:1" /bin/busybox cat /platform 2>&1)
  [ "$got" = "linux/amd64$MULTI_MARKER" ] || fail "/platform in the pulled image is '$got'"
}
# docker's behaviour: pull --platform P of a tag the store holds for another
# platform pulls P's image and moves the tag; a plain pull goes back to the host's
sk_multi_switch() {
  export MKIMAGE_ROOT=$W/root.sk-multi-switch
  multi_seed
  local want got
  mk_pull "$R/interop/multi:1"
  mk_pull --platform linux/arm64 "$R/interop/multi:1"
  want=$(multi_config arm64) || exit 1
  got=$(mk_id "$R/interop/multi:1") || exit 1
  [ "$got" = "$want" ] || fail "mkimage pull --platform linux/arm64 of a tag the store holds as linux/amd64 left it at $got ($(mk image inspect -f '{{.Architecture}}' "$R/interop/multi:1")), want linux/arm64's $want"
  mk_pull "$R/interop/multi:1"
  want=$(multi_config amd64) || exit 1
  got=$(mk_id "$R/interop/multi:1") || exit 1
  [ "$got" = "$want" ] || fail "mkimage pull (no --platform) after a --platform linux/arm64 pull left $R/interop/multi:1 at $got ($(mk image inspect -f '{{.Architecture}}' "$R/interop/multi:1")), want linux/amd64's $want"
}

# every RepoDigest mkimage records (after its push, after a pull) names a
# manifest the registry has (docs/registry.md: "the manifest digest the registry
# served"); skopeo resolves each
sk_repo_digests() {
  local ref=$R/interop/sk-rd:1 d bad=() reg_digest
  if [ -n "$MK_ID" ]; then
    mk image inspect -f '{{json .RepoDigests}}' "$MK_REF" >"$W/mk.digests" || fail "mkimage image inspect $MK_REF"
    for d in $(jget "$W/mk.digests" '" ".join(d)'); do
      sk inspect --raw "${SK_TLS[@]}" "docker://$d" >/dev/null 2>&1 || bad+=("$d")
    done
    [ ${#bad[@]} -eq 0 ] || echo "after mkimage push: RepoDigests $(cat "$W/mk.digests"), not in the registry: ${bad[*]}"
  fi
  export MKIMAGE_ROOT=$W/root.sk-digests
  seed_oci rd "-rd-$RANDOM$RANDOM"
  sk_push rd interop/sk-rd:1 --format v2s2
  mk_pull "$ref"
  reg_digest=$(man_get interop/sk-rd 1 "$W/sk-rd.json") || exit 1
  mk image inspect -f '{{json .RepoDigests}}' "$ref" >"$W/sk-rd.digests" || fail "mkimage image inspect $ref"
  grep -qF "\"$R/interop/sk-rd@$reg_digest\"" "$W/sk-rd.digests" || fail "RepoDigests $(cat "$W/sk-rd.digests") lack $R/interop/sk-rd@$reg_digest"
  local n=${#bad[@]}
  for d in $(jget "$W/sk-rd.digests" '" ".join(d)'); do
    sk inspect --raw "${SK_TLS[@]}" "docker://$d" >/dev/null 2>&1 || bad+=("$d")
  done
  [ ${#bad[@]} -eq "$n" ] || echo "after mkimage pull: RepoDigests $(cat "$W/sk-rd.digests"), not in the registry: ${bad[*]:$n}"
  [ ${#bad[@]} -eq 0 ] || fail "RepoDigests name manifests the registry does not have: ${bad[*]}"
}

if ! command -v skopeo >/dev/null; then
  peer_skip skopeo "skopeo is not installed (scripts/deps.sh installs it)"
else
  echo "--- skopeo $(skopeo --version | awk '{print $3}')"
  check skopeo "inspect --raw of mkimage's push: OCI manifest + config" sk_inspect_mk
  check skopeo "copy mkimage's push to oci: (same manifest and layer digests)" sk_copy_mk_to_oci
  check skopeo "gzip OCI image → mkimage pull → build FROM" sk_gzip
  check skopeo "zstd OCI image (skopeo --dest-compress-format zstd) → mkimage pull → build FROM" sk_zstd
  check skopeo "docker v2s2 image (--format v2s2) → mkimage pull → build FROM" sk_v2s2
  check skopeo "multi-arch index → linux/amd64 picked" sk_multi
  check skopeo "multi-arch: pull --platform linux/arm64 then plain pull switch the tag" sk_multi_switch
  check skopeo "RepoDigests after mkimage push and pull resolve at the registry" sk_repo_digests
fi

# ================================= docker =======================================
docker_start() {
  export DOCKER_HOST=unix://$W/docker.sock
  "$DOCKERD" --iptables=false --bridge=none --data-root "$W/docker-data" --exec-root "$W/docker-exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" </dev/null >"$W/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local _
  for _ in $(seq 120); do
    "$DOCKER" version >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.25
  done
  return 1
}
dk_pull_run_mk() {
  need_mk_push
  local out id
  out=$(dk pull "$MK_REF" 2>&1) || fail "docker pull $MK_REF: $out"
  id=$(dk image inspect -f '{{.Id}}' "$MK_REF") || fail "docker image inspect $MK_REF"
  [ "$id" = "$MK_ID" ] || fail "docker sees image ID $id, mkimage pushed $MK_ID"
  dk image inspect -f '{{json .RepoDigests}}' "$MK_REF" | grep -qF "\"$R/$MK_REPO@$MK_DIGEST\"" ||
    fail "docker's RepoDigests $(dk image inspect -f '{{json .RepoDigests}}' "$MK_REF") lack $R/$MK_REPO@$MK_DIGEST"
  out=$(dk run --network=host --rm "$MK_REF" /bin/busybox echo ok 2>&1) || fail "docker run: $out"
  [ "$out" = ok ] || fail "docker run printed '$out'"
  out=$(dk run --network=host --rm "$MK_REF" /bin/busybox cat /hi /data/sum 2>&1) || fail "docker run cat: $out"
  [ "$out" = "built-by-mkimage
$data_sum  /data/data.bin" ] || fail "docker run: the built layers hold '$out'"
}
dk_push_to_mk() {
  local marker="docker-$RANDOM$RANDOM" out did got ref=$R/interop/fromdocker:1
  mk_busybox_image interop-dksrc:1 "$marker"
  mk save -o "$W/dksrc.tar" interop-dksrc:1 || fail "mkimage save"
  out=$(dk load -i "$W/dksrc.tar" 2>&1) || fail "docker load: $out"
  dk tag interop-dksrc:1 "$ref" || fail "docker tag"
  out=$(dk push "$ref" 2>&1) || fail "docker push $ref: $out"
  did=$(dk image inspect -f '{{.Id}}' "$ref")
  man_get interop/fromdocker 1 "$W/fromdocker.json" >/dev/null || exit 1
  [ "$(jget "$W/fromdocker.json" 'd.get("mediaType")')" = application/vnd.docker.distribution.manifest.v2+json ] ||
    fail "docker pushed a $(jget "$W/fromdocker.json" 'd.get("mediaType")') manifest"
  export MKIMAGE_ROOT=$W/root.fromdocker
  mk_pull "$ref"
  got=$(mk_id "$ref") || exit 1
  [ "$got" = "$did" ] || fail "mkimage pull of docker's push gave $got, docker's image ID is $did"
  build_from fromdocker "$ref" "cat /marker && echo run-ok" "$marker
run-ok"
}
if [ ! -x "$DOCKER" ] || [ ! -x "$DOCKERD" ]; then
  peer_skip docker "$DOCKER / $DOCKERD are not installed (Debian's docker.io; scripts/deps.sh installs it)"
elif ! docker_start; then
  peer_skip docker "the private dockerd did not start: $(tail -n 3 "$W/dockerd.log" | tr '\n' ' ')"
else
  echo "--- docker $("$DOCKER" version -f '{{.Server.Version}}') (private dockerd, pid $dockerd_pid)"
  check docker "pull + run of mkimage's push" dk_pull_run_mk
  check docker "docker push (image loaded from mkimage save) → mkimage pull → build FROM" dk_push_to_mk
fi

# ================================= podman =======================================
pm_pull_run_mk() {
  need_mk_push
  local out id
  out=$(pm pull -q --tls-verify=false "$MK_REF" 2>&1) || fail "podman pull $MK_REF: $out"
  id=$(pm image inspect -f '{{.Id}}' "$MK_REF") || fail "podman image inspect $MK_REF"
  [ "sha256:${id#sha256:}" = "$MK_ID" ] || fail "podman sees image ID $id, mkimage pushed $MK_ID"
  out=$(pm run --rm "${PODMAN_RUN[@]}" "$MK_REF" /bin/busybox echo ok 2>&1) || fail "podman run: $out"
  [ "$out" = ok ] || fail "podman run printed '$out'"
  out=$(pm run --rm "${PODMAN_RUN[@]}" "$MK_REF" /bin/busybox cat /hi /data/sum 2>&1) || fail "podman run cat: $out"
  [ "$out" = "built-by-mkimage
$data_sum  /data/data.bin" ] || fail "podman run: the built layers hold '$out'"
}
pm_push_to_mk() {
  local marker="podman-$RANDOM$RANDOM" r=$W/pm-rootfs pid got ref=$R/interop/frompodman:1 out
  mkdir -p "$r/bin" "$r/etc"
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo "$marker" >"$r/marker"
  tar -C "$r" -cf "$r.tar" . || fail "tar"
  pid=$(pm import -q -c 'CMD ["/bin/sh"]' "$r.tar" interop-pmsrc:1 2>&1) || fail "podman import: $pid"
  out=$(pm push -q --tls-verify=false interop-pmsrc:1 "$ref" 2>&1) || fail "podman push $ref: $out"
  export MKIMAGE_ROOT=$W/root.frompodman
  mk_pull "$ref"
  got=$(mk_id "$ref") || exit 1
  [ "$got" = "sha256:${pid#sha256:}" ] || fail "mkimage pull of podman's push gave $got, podman's image ID is $pid"
  build_from frompodman "$ref" "cat /marker && echo run-ok" "$marker
run-ok"
}
if ! command -v podman >/dev/null; then
  peer_skip podman "podman is not installed (scripts/deps.sh installs it)"
elif ! pm_info=$(pm info --format '{{.Store.GraphDriverName}}' 2>&1); then
  podman_used=1
  peer_skip podman "podman info fails with a private root: $(echo "$pm_info" | tail -n 2 | tr '\n' ' ')"
else
  podman_used=1
  echo "--- podman $(pm version --format '{{.Client.Version}}') (storage $pm_info, root under $W)"
  check podman "pull + run of mkimage's push" pm_pull_run_mk
  check podman "podman push (podman import) → mkimage pull → build FROM" pm_push_to_mk
fi

# ================================= result =======================================
[ ${#FAILED_PEERS[@]} -eq 0 ] || fail "failed checks (see FAILED lines above) for: ${FAILED_PEERS[*]}"
[ ${#RAN_PEERS[@]} -gt 0 ] || skip "no interop peer is available (SKIPPED: ${SKIPPED[*]})"
[ ${#SKIPPED[@]} -eq 0 ] || echo "$TEST: peers skipped: ${SKIPPED[*]}"
pass
