#!/usr/bin/env bash
# --build-context NAME=DIR|docker-image://REF|oci-layout://PATH end to end: the
# flag's errors, a directory context's .dockerignore, keys that follow content
# (a directory by the files used, an image by its manifest digest), RUN --mount
# from= a directory context, an OCI layout found by tag. (BuildKit's own tests
# of the feature are bk-suite cases 350-358.)
. "$(dirname "$0")/build_helpers.inc"
ctx base
cat >base/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
DF
b base -t ctxbase:v1 base
"$MKIMAGE" build -q -t ctxbase2 - >/dev/null 2>log.base2 <<'DF' || fail "ctxbase2: $(cat log.base2)"
FROM ctxbase:v1
RUN echo two >/two
DF

# The flag's errors (buildx's words), before anything is built.
mkdir -p c && printf 'FROM scratch\n' >c/Dockerfile
expect_usage() {
  local want=$1; shift
  if "$MKIMAGE" build "$@" c >log.err 2>&1; then fail "build $* succeeded"; fi
  grep -qF -- "$want" log.err || fail "build $*: error lacks '$want': $(cat log.err)"
}
expect_usage "invalid context value: nodir, expected key=value" --build-context nodir
expect_usage "invalid context name Base" --build-context Base=c
expect_usage "failed to get build context dir: stat $W/missing" --build-context dir=$W/missing

# A directory context: its own .dockerignore; COPY --from, FROM and a bind mount.
mkdir -p extra
printf 'one\n' >extra/one.txt; printf 'skip\n' >extra/skip.txt; printf 'skip.txt\n' >extra/.dockerignore
cat >c/Dockerfile <<'DF'
FROM extra AS files
FROM ctxbase:v1
COPY --from=extra one.txt /copied.txt
COPY --from=files / /from-stage/
RUN --mount=from=extra,target=/mnt ls /mnt >/mounted.txt && cat /mnt/one.txt >>/mounted.txt
DF
b 1 --build-context extra=extra -o type=local,dest=out1 c
is out1/copied.txt $'one\n'
is out1/from-stage/one.txt $'one\n'
[ ! -e out1/from-stage/skip.txt ] || fail "the directory context's .dockerignore was not applied (FROM)"
is out1/mounted.txt $'one.txt\none\n'
# An ignored file changes nothing: all cached.
printf 'changed\n' >extra/skip.txt
b 2 --build-context extra=extra -o type=local,dest=out2 c
cache 2 'COPY --from=extra one.txt' HIT 'RUN --mount=from=extra' HIT 'COPY --from=files' HIT
# A used file changes: every step that reads it misses.
printf 'ONE\n' >extra/one.txt
b 3 --build-context extra=extra -o type=local,dest=out3 c
cache 3 'COPY --from=extra one.txt' MISS 'RUN --mount=from=extra' MISS 'COPY --from=files' MISS
is out3/mounted.txt $'one.txt\nONE\n'
# The same files in another directory: the same keys (content, not path).
cp -a extra extra-copy
b 4 --build-context extra=extra-copy -o type=local,dest=out4 c
cache 4 'COPY --from=extra one.txt' HIT 'RUN --mount=from=extra' HIT

# ONBUILD triggers of a base image reach named contexts too.
"$MKIMAGE" build -q -t onbuild-base - >/dev/null 2>log.ob <<'DF' || fail "onbuild-base: $(cat log.ob)"
FROM ctxbase:v1
ONBUILD COPY --from=extra one.txt /onbuild-copy.txt
ONBUILD RUN --mount=from=extra,target=/m cat /m/one.txt >/onbuild-mount.txt
DF
printf 'FROM onbuild-base\n' >c/Dockerfile
b ob --build-context extra=extra -o type=local,dest=outob c
is outob/onbuild-copy.txt $'ONE\n'
is outob/onbuild-mount.txt $'ONE\n'

# An image context keys by the manifest digest it resolves to.
cat >c/Dockerfile <<'DF'
FROM ctxbase:v1
RUN ls / >/root.txt
DF
b 5 --build-context ctxbase:v1=docker-image://ctxbase2 -o type=local,dest=out5 c
grep -qx two out5/root.txt || fail "FROM ctxbase:v1 did not use the docker-image:// context"
cache 5 'RUN ls /' MISS
b 6 -o type=local,dest=out6 c
cache 6 'RUN ls /' MISS    # the store's ctxbase:v1: another manifest, another key
grep -qx two out6/root.txt && fail "without --build-context FROM used the context's image"
b 7 --build-context docker.io/library/ctxbase:v1=docker-image://ctxbase2 -o type=local,dest=out7 c
cache 7 'RUN ls /' HIT     # the full reference names the same context

# An OCI layout by tag (what `mkimage save --format oci` writes names it).
"$MKIMAGE" save --format oci -o layout.tar ctxbase2 >/dev/null 2>&1 || fail "save failed"
mkdir layout && tar -xf layout.tar -C layout
b 8 --build-context ctxbase:v1=oci-layout://$W/layout:latest -o type=local,dest=out8 c
grep -qx two out8/root.txt || fail "the oci-layout:// context was not used"
cache 8 'RUN ls /' HIT     # the same image as docker-image://ctxbase2
# A layout of two images: the tag decides; an unknown tag is an error.
"$MKIMAGE" save --format oci -o two.tar ctxbase2 ctxbase:v1 >/dev/null 2>&1 || fail "save of two failed"
mkdir two && tar -xf two.tar -C two
b 9 --build-context ctxbase:v1=oci-layout://$W/two:v1 -o type=local,dest=out9 c
grep -qx two out9/root.txt && fail "oci-layout://…:v1 took ctxbase2"
b_fails 10 --build-context ctxbase:v1=oci-layout://$W/two:nosuchtag c
log_has 10 'no manifest is tagged "nosuchtag"'
pass
