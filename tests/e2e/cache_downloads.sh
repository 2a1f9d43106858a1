#!/usr/bin/env bash
# Kept `ADD <url>` downloads (ROOT/url-cache/) are build cache: `cache du`
# counts them, a rebuild revalidates (HEAD with If-None-Match) and marks the
# download used, `cache prune` removes a download unused for longer than the
# grace time (10 minutes: a build may be copying from one) but not a fresh one,
# and --filter until keeps one used since.
. "$(dirname "$0")/build_helpers.inc"

command -v python3 >/dev/null || skip "python3 is not installed"
mkdir -p srv app
head -c 262144 /dev/urandom >srv/blob
python3 "$HANDED/bk-suite/tools/httpserve.py" srv port requests --ttl 120 &
server=$!
trap 'kill $server 2>/dev/null; cd /; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || fail "the HTTP server did not start"
url="http://127.0.0.1:$(cat port)/blob"

downloads() { "$MKIMAGE" cache du | sed -n 's/^Downloads:.*(\([0-9]*\) kept.*/\1/p'; }
printf 'FROM scratch\nADD %s /a\n' "$url" >app/Dockerfile
b one -t one app
[ "$(downloads)" = 1 ] || { "$MKIMAGE" cache du; fail "cache du counts $(downloads) downloads, want 1"; }
meta_file=$(ls "$MKIMAGE_ROOT"/url-cache/*.json)
data_file=${meta_file%.json}.data
cmp -s "$data_file" srv/blob || fail "the kept download differs from the served bytes"

# A rebuild under another instruction revalidates the kept bytes and marks them used.
touch -d '2 hours ago' "$meta_file"
printf 'FROM scratch\nADD %s /b\n' "$url" >app/Dockerfile
b two -t two app
grep -q '^HEAD /blob' requests || fail "the rebuild did not revalidate with HEAD: $(cat requests)"
[ "$(grep -c '^GET /blob' requests)" = 1 ] || fail "the rebuild fetched the body again: $(cat requests)"
age=$(( $(date +%s) - $(stat -c %Y "$meta_file") ))
[ "$age" -lt 60 ] || fail "the reuse did not mark the download used (last used ${age}s ago)"

# Used just now: prune leaves it (a build may be copying from it).
"$MKIMAGE" cache prune -f >log.prune1 || fail "cache prune"
[ -f "$data_file" ] || fail "prune removed a download used within the grace time"
# Unused for an hour: --filter until=2h keeps it, a plain prune removes it.
touch -d '1 hour ago' "$meta_file"
"$MKIMAGE" cache prune -f --filter until=2h >log.prune2 || fail "cache prune --filter until=2h"
[ -f "$data_file" ] || fail "prune --filter until=2h removed a download used an hour ago"
"$MKIMAGE" cache prune -f >log.prune3 || fail "cache prune"
grep -q "(ADD <url> download)" log.prune3 || { cat log.prune3; fail "prune does not list the download it removed"; }
[ ! -e "$data_file" ] && [ ! -e "$meta_file" ] || fail "prune left the download's files"
[ "$(downloads)" = 0 ] || fail "cache du still counts $(downloads) downloads"
# The images are intact and the next build downloads again.
"$MKIMAGE" store check >/dev/null || fail "store check after prune"
printf 'FROM scratch\nADD %s /c\n' "$url" >app/Dockerfile
b three -t three app
[ "$(grep -c '^GET /blob' requests)" = 2 ] || fail "the build after prune did not download again: $(cat requests)"
pass
