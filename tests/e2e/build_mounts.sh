#!/usr/bin/env bash
# RUN --mount (cache, bind from the context and from a stage, tmpfs, secret as
# a file and as env), COPY --parents / --exclude / --link, ADD of an http URL
# with --checksum, and SOURCE_DATE_EPOCH, end to end (FROM scratch + busybox;
# the URL is served by busybox httpd on the host's loopback).
. "$(dirname "$0")/build_helpers.inc"
ctx c
mkdir -p c/src/a/deep c/src/b www
printf 'one\n' >c/src/a/deep/one.txt; printf 'two\n' >c/src/b/two.txt; printf 'log\n' >c/src/b/skip.log
printf 'bound\n' >c/bound.txt
printf 'served over http\n' >www/file.txt
printf 's3cret' >secret.txt
sum=$(sha256sum www/file.txt | cut -d' ' -f1)

port=$((20000 + RANDOM % 20000))
/bin/busybox httpd -f -p "127.0.0.1:$port" -h www &
httpd=$!
trap 'kill $httpd 2>/dev/null; cd /; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

cat >c/Dockerfile <<DF
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /out

FROM base AS tools
RUN echo from-tools-stage >/tool.txt

FROM base
ARG RUNID=0
# cache: persists between builds (the counter grows), never in a layer
RUN --mount=type=cache,target=/cache,id=counter,sharing=locked \\
    echo "\$RUNID" >>/cache/runs && wc -l </cache/runs >/out/cache-runs.txt
# bind from the context (read-only) and from a stage; rw writes are discarded
RUN --mount=type=bind,source=bound.txt,target=/mnt/b.txt cat /mnt/b.txt >/out/bind.txt && \\
    if echo x >/mnt/b.txt 2>/dev/null; then echo writable >/out/bind-ro.txt; else echo read-only >/out/bind-ro.txt; fi
RUN --mount=type=bind,from=tools,source=/tool.txt,target=/mnt/tool.txt cat /mnt/tool.txt >/out/from-stage.txt
RUN --mount=type=bind,target=/ctx,rw echo scribble >/ctx/bound.txt && cat /ctx/bound.txt >/out/rw.txt
# tmpfs: writes vanish
RUN --mount=type=tmpfs,target=/scratch echo gone >/scratch/x && ls /scratch >/out/tmpfs.txt
# secrets: a file (default /run/secrets/ID) and an env variable; never in a layer
RUN --mount=type=secret,id=tok wc -c </run/secrets/tok >/out/secret-len.txt
RUN --mount=type=secret,id=tok,env=TOKEN printf %s "\$TOKEN" | md5sum >/out/secret-env.txt
COPY --parents src/a/deep/one.txt /parents/
COPY --exclude=*.log src/b/ /excluded/
COPY --link src/a/deep/one.txt /linked/one.txt
ADD --checksum=sha256:$sum http://127.0.0.1:$port/file.txt /added/file.txt
DF

b 1 --secret id=tok,src="$W/secret.txt" --build-arg RUNID=1 --output type=local,dest=out c
is out/out/cache-runs.txt $'1\n'
is out/out/bind.txt $'bound\n'
is out/out/bind-ro.txt $'read-only\n'
is out/out/from-stage.txt $'from-tools-stage\n'
is out/out/rw.txt $'scribble\n'
is c/bound.txt $'bound\n'   # the rw bind mount did not write into the context
is out/out/tmpfs.txt $'x\n'
[ ! -e out/scratch/x ] || fail "the tmpfs write reached the image"
[ ! -e out/cache/runs ] || fail "the cache mount's contents reached the image"
[ ! -e out/mnt/b.txt ] || [ ! -s out/mnt/b.txt ] || fail "the bind mount's source reached the image"
is out/out/secret-len.txt $'6\n'
is out/out/secret-env.txt "$(printf s3cret | md5sum)"$'\n'
[ ! -e out/run/secrets/tok ] || [ ! -s out/run/secrets/tok ] || fail "the secret reached the image"
grep -rqs s3cret out && fail "the secret's value is in the image's files"
is out/parents/src/a/deep/one.txt $'one\n'
is out/excluded/two.txt $'two\n'
[ ! -e out/excluded/skip.log ] || fail "--exclude=*.log copied skip.log"
is out/linked/one.txt $'one\n'
is out/added/file.txt $'served over http\n'

# The secret is in no layer blob and no cache key.
grep -rqs s3cret "$MKIMAGE_ROOT/blobs" && fail "the secret's value is in a blob"

# Second build: the cache mount persists (the step re-runs for a new RUNID and
# sees the first run's line); every other step is CACHED, the URL step too.
b 2 --secret id=tok,src="$W/secret.txt" --build-arg RUNID=2 --output type=local,dest=out2 c
cache 2 'RUN --mount=type=cache' MISS 'type=bind,source=bound.txt' MISS 'COPY --parents' MISS
is out2/out/cache-runs.txt $'2\n'
b 3 --secret id=tok,src="$W/secret.txt" --build-arg RUNID=2 c
cache 3 'RUN --mount=type=cache' HIT 'COPY --parents' HIT 'COPY --exclude' HIT 'ADD --checksum' HIT

# A wrong checksum fails the build and names the digests.
sed -i "s/--checksum=sha256:$sum/--checksum=sha256:$(printf '0%.0s' $(seq 64))/" c/Dockerfile
b_fails 4 --secret id=tok,src="$W/secret.txt" c
log_has 4 "$sum"

# A context bind mount shows what COPY would: .dockerignore'd files are absent,
# host owners are 0:0 (the key hashes exactly this view).
ctx bv && mkdir -p bv/d && echo visible >bv/d/a.txt && echo secret >bv/d/ignored.txt && chown -R 1234:1234 bv/d
printf 'd/ignored.txt\n' >bv/.dockerignore
cat >bv/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN --mount=type=bind,source=d,target=/m ["/bin/busybox", "sh", "-c", "/bin/busybox ls /m > /seen; /bin/busybox stat -c '%u:%g' /m/a.txt > /owner"]
DF
b 6 --output type=local,dest=bv-out bv
is bv-out/seen $'a.txt\n'
is bv-out/owner $'0:0\n'

# SOURCE_DATE_EPOCH: created times and layer mtimes clamped.
mkdir -p sde && cp /bin/busybox sde/busybox && printf 'FROM scratch\nCOPY busybox /bin/busybox\nLABEL x=y\n' >sde/Dockerfile
SOURCE_DATE_EPOCH=1700000000 b 5 --output type=oci,dest=sde.tar sde
img sde.tar 'cfg.get("created")' '"2023-11-14T22:13:20Z"'
img sde.tar '[h.get("created") for h in hist]' '["2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z"]'
python3 - sde.tar <<'PY' || fail "layer mtimes are not clamped to SOURCE_DATE_EPOCH"
import io, json, sys, tarfile
outer = tarfile.open(sys.argv[1])
index = json.load(outer.extractfile("index.json"))
def blob(d): return outer.extractfile("blobs/sha256/" + d.split(":")[1]).read()
manifest = json.loads(blob(index["manifests"][0]["digest"]))
for layer in manifest["layers"]:
    for m in tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))).getmembers():
        assert m.mtime <= 1700000000, (m.name, m.mtime)
PY
pass
