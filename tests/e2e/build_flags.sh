#!/usr/bin/env bash
# `mkimage build` flags end to end: -t, -f (path and -), context -, --build-arg
# (K=V and K from the environment), --target, --no-cache, --no-cache-filter,
# --secret, --label, --network, --platform, --iidfile, -q, --progress json,
# --output (image, oci, docker, tar, local), --compression zstd, --explain-cache,
# a lowercase `dockerfile`.
. "$(dirname "$0")/build_helpers.inc"
ctx c
printf 's3cr3t\n' >secret.txt
cat >c/Dockerfile <<'DF'
FROM scratch AS tools
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM tools AS unused
RUN echo never >/never

FROM tools AS final
ARG FROM_ENV
ARG GIVEN=default
RUN echo "$FROM_ENV $GIVEN" >/args.txt
RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c >/secret-len.txt
RUN --network=none cat /proc/net/dev | grep -c ':' >/ifaces.txt
DF
# -t, --label, --iidfile, --build-arg K (environment) and K=V, --secret; unreachable stage skipped
FROM_ENV=from-env b 1 -t flags:one -t flags:two --label org.example.built-by=test --iidfile iid.txt \
  --build-arg FROM_ENV --build-arg GIVEN=given --secret id=tok,src=secret.txt \
  --output type=oci,dest=img.tar c
grep -q 'RUN echo never' log.1 && fail "the unreachable stage 'unused' was built"
# BuildKit's numbering: FROM scratch is no step; FROM another stage neither
log_has 1 '[tools 1/2] COPY busybox /bin/busybox'
log_has 1 '[final 1/3] RUN echo "$FROM_ENV $GIVEN" >/args.txt'
[ "$(head -c 7 iid.txt)" = "sha256:" ] || fail "--iidfile holds '$(cat iid.txt)'"
img img.tar 'cfg_digest' "\"$(cat iid.txt)\""
img img.tar 'c.get("Labels")' '{"org.example.built-by": "test"}'
grep -q '"flags:one"' "$MKIMAGE_ROOT/index.json" && grep -q '"flags:two"' "$MKIMAGE_ROOT/index.json" ||
  fail "tags missing from the store's index.json: $(cat "$MKIMAGE_ROOT/index.json")"
# --output local and tar of the same image; secrets never in a layer
b 2 --build-arg FROM_ENV=x --build-arg GIVEN=given --secret id=tok,src=secret.txt --output type=local,dest=out c
is out/args.txt $'x given\n'
is out/secret-len.txt $'7\n'
is out/ifaces.txt $'1\n'
[ ! -e out/run/secrets/tok ] || fail "the secret is in the rootfs"
python3 "$HANDED/cases/lib.py" entries img.tar >entries.txt || fail "cannot list layers"
grep -q 'run/secrets' entries.txt && fail "a layer holds run/secrets: $(grep run/secrets entries.txt)"
grep -q 's3cr3t' img.tar && fail "the secret's bytes are in the image archive"
b 3 --build-arg FROM_ENV=x --build-arg GIVEN=given --secret id=tok,src=secret.txt --output type=tar,dest=rootfs.tar c
tar -tf rootfs.tar | grep -q '^\(\./\)\?args.txt$' || fail "rootfs.tar lacks args.txt"
# the secret's content is not part of the key: another secret file still hits
printf 'other\n' >secret2.txt
b 4 --build-arg FROM_ENV=x --build-arg GIVEN=given --secret id=tok,src=secret2.txt c
cache 4 'RUN --mount=type=secret' HIT
# --target, -f -, context -
b 5 --target tools -t flags:tools c
cache 5 '--install' HIT
"$MKIMAGE" build --progress plain -t flags:stdin-df -f - c <c/Dockerfile >log.6 2>&1 || fail "build with -f - failed"
printf 'FROM scratch\nENV FROM_STDIN=1\n' | "$MKIMAGE" build --progress plain -t flags:stdin-ctx - >log.7 2>&1 || fail "build of a Dockerfile on stdin failed"
tar -C c -cf - . | "$MKIMAGE" build --progress plain --target tools -t flags:tar-ctx - >log.8 2>&1 || fail "build of a tar context on stdin failed"
cache 8 'COPY busybox' HIT
# --no-cache, --no-cache-filter
b 9 --no-cache --target tools c
cache 9 'COPY busybox' MISS '--install' MISS
b 10 --no-cache-filter final --build-arg FROM_ENV=x --build-arg GIVEN=given --secret id=tok,src=secret.txt c
cache 10 '--install' HIT 'RUN echo "$FROM_ENV' MISS
# -q prints only the image ID; --progress json is one object per line
id=$("$MKIMAGE" build -q --target tools c) || fail "-q build failed"
[[ $id =~ ^sha256:[0-9a-f]{64}$ ]] || fail "-q printed '$id'"
# a fully cached rebuild gives the same image ID, also for metadata steps on
# scratch (no layer time to inherit: the config has no created time, as BuildKit)
id2=$("$MKIMAGE" build -q --target tools c) || fail "-q rebuild failed"
[ "$id2" = "$id" ] || fail "cached rebuild gave $id2, first build $id"
mkdir -p metaonly && printf 'FROM scratch\nLABEL a=b\nENV X=1\n' >metaonly/Dockerfile
m1=$("$MKIMAGE" build -q metaonly) && sleep 1.1 && m2=$("$MKIMAGE" build -q metaonly) || fail "metadata-only build failed"
[ "$m1" = "$m2" ] || fail "metadata-only rebuild gave $m2, first build $m1"
"$MKIMAGE" build --progress json --target tools c >events.json 2>log.json || fail "json build failed"
python3 - events.json <<'PY' || fail "bad --progress json output"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = {e["event"] for e in ev}
assert {"started", "cached", "result"} <= kinds, kinds
assert all("cache_key" in e for e in ev if e["event"] in ("started", "cached", "done"))
assert ev[-1]["event"] == "result" and ev[-1]["image_id"].startswith("sha256:")
PY
# --explain-cache prints the tagged inputs
b 11 --explain-cache --target tools c
log_has 11 'key-version: 2'
log_has 11 'op: run'
# docker output with zstd request, oci with zstd
b 12 --target tools --output type=docker,dest=docker.tar -t flags:docker c
python3 -c 'import tarfile,sys; n=tarfile.open(sys.argv[1]).getnames(); assert "manifest.json" in n, n' docker.tar || fail "docker.tar has no manifest.json"
b 13 --target tools --compression zstd --output type=oci,dest=zstd.tar c
python3 - zstd.tar <<'PY' || fail "--compression zstd did not give zstd layers"
import tarfile, json, sys
t = tarfile.open(sys.argv[1])
idx = json.load(t.extractfile("index.json"))
m = json.load(t.extractfile("blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
assert all(l["mediaType"].endswith("+zstd") for l in m["layers"]), m["layers"]
PY
# --platform: only the host's
b 14 --platform linux/amd64 --target tools c
b_fails 15 --platform linux/arm64 --target tools c
log_has 15 'linux/arm64'
# FROM --platform: the host's (also through $BUILDPLATFORM) builds, another one is
# refused with the FROM line, not silently built for the host
mkdir -p fp
printf 'FROM --platform=$BUILDPLATFORM scratch\nLABEL a=1\n' >fp/Dockerfile
b 15a fp
printf 'FROM --platform=linux/arm64 scratch\nLABEL a=1\n' >fp/Dockerfile
b_fails 15b fp
log_has 15b 'FROM --platform=linux/arm64 scratch'
log_has 15b 'platform "linux/arm64" is not supported'
# a context whose Dockerfile is spelled `dockerfile` builds (BuildKit's fallback)
mkdir -p lc && printf 'FROM scratch\nLABEL lower=1\n' >lc/dockerfile
b 15c lc
# --network none makes RUN see only loopback; host sees more (when the host has more)
pass
