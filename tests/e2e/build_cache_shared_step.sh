#!/usr/bin/env bash
# Steps with the same cache key built at the same time (parallel stages of one
# build, or two builds into one store) all keep the first stored result: every
# image gets the same history, and a fully cached rebuild gives the image ID of
# the first build.
. "$(dirname "$0")/build_helpers.inc"
ctx app
{
  for s in a b c d; do
    printf 'FROM scratch AS %s\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nRUN echo %s >/%s\n' "$s" "$s" "$s"
  done
  printf 'FROM d\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCOPY --from=c /c /c\n'
} >app/Dockerfile
id() { "$MKIMAGE" build -q "$@" 2>&1 | tail -n 1; }
for round in 1 2 3; do
  rm -rf "$MKIMAGE_ROOT"
  first=$(id app)
  case $first in sha256:*) ;; *) fail "round $round: build failed: $first" ;; esac
  again=$(id app)
  [ "$again" = "$first" ] || fail "round $round: the cached rebuild gives $again, the first build gave $first"
done
# Two builds into one store at once: one image ID, and a rebuild gives it too.
rm -rf "$MKIMAGE_ROOT"
id app >id.1 & id app >id.2 & wait
[ "$(cat id.1)" = "$(cat id.2)" ] || fail "concurrent builds gave $(cat id.1) and $(cat id.2)"
[ "$(id app)" = "$(cat id.1)" ] || fail "the rebuild after concurrent builds gives another image ID"
pass
