#!/usr/bin/env bash
# A failed RUN stops the build with its Dockerfile line, exit code and last output
# lines, and leaves no new image, blob or cache row behind.
. "$(dirname "$0")/build_helpers.inc"
ctx c
cat >c/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
DF
b 1 -t base c
blobs_before=$(ls "$MKIMAGE_ROOT/blobs/sha256" | sort)
cache_before=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from cache").fetchone()[0])' "$MKIMAGE_ROOT/index.db" 2>/dev/null || echo unknown)
images_before=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from images").fetchone()[0])' "$MKIMAGE_ROOT/index.db")
cat >>c/Dockerfile <<'DF'
RUN echo first line && echo 'the last words' && touch /should-not-exist && exit 3
RUN echo never
DF
b_fails 2 -t broken c
log_has 2 'exit code: 3'
log_has 2 'the last words'
log_has 2 'Dockerfile:4'
log_has 2 'RUN echo first line'
grep -q 'RUN echo never' log.2 && grep -q '^#[0-9]* \[.*\] RUN echo never' log.2 && fail "the step after the failure ran"
[ "$(ls "$MKIMAGE_ROOT/blobs/sha256" | sort)" = "$blobs_before" ] || fail "the failed build left new blobs"
cache_after=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from cache").fetchone()[0])' "$MKIMAGE_ROOT/index.db" 2>/dev/null || echo unknown)
[ "$cache_after" = "$cache_before" ] || fail "the failed build left cache rows ($cache_before -> $cache_after)"
images_after=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from images").fetchone()[0])' "$MKIMAGE_ROOT/index.db")
[ "$images_after" = "$images_before" ] || fail "the failed build left an image"
! grep -q "$MKIMAGE_ROOT" /proc/mounts || fail "mounts left under the store root"
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp" 2>/dev/null | grep -v '^active$')" ] || fail "temp files left: $(ls -A "$MKIMAGE_ROOT/tmp")"
[ -z "$(ls -A "$MKIMAGE_ROOT/tmp/active" 2>/dev/null)" ] || fail "active snapshots left"
# The successful part is still cached.
b 3 -f - -t base c <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
DF
cache 3 'COPY busybox' HIT '--install' HIT
pass
