#!/usr/bin/env bash
# docker.io names through mirrors: with "registry-mirrors" in registries.json,
# `mkimage pull bb:1` (docker.io/library/bb:1) asks the mirror for library/bb;
# a mirror that refuses connections is skipped for the next one; `mirrors` gives
# any other registry its own mirror; a Dockerfile's `FROM bb:1` pulls through the
# mirror too. Nothing here can reach Docker Hub: the mirror must serve it all.
# Env: MKIMAGE (binary). Exit 77 = skipped.
set -u
source "$(dirname "$0")/registry_lib.bash"
cd "$W"
mk() { "$MKIMAGE" "$@"; }

reg_start mirror none
M=$REG_ADDR
mk_busybox_image bb:1 mirrored
mk tag bb:1 "$M/library/bb:1" && mk push -q "$M/library/bb:1" >/dev/null || fail "push to the mirror"
mk tag bb:1 "$M/team/app:2" && mk push -q "$M/team/app:2" >/dev/null || fail "push team/app to the mirror"

# A port nothing listens on, as a dead first mirror.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MKIMAGE_ROOT=$W/client
registries_json "{\"registry-mirrors\": [\"http://127.0.0.1:$dead\", \"http://$M\"], \"max-attempts\": 2,
  \"mirrors\": {\"registry.example.invalid\": [\"http://$M\"]}}"
mk pull bb:1 >pull.log 2>&1 || { cat pull.log; fail "pull bb:1 through the mirrors"; }
grep -q "Status: Downloaded newer image for bb:1" pull.log || fail "pull bb:1: no docker status line: $(tail -n 2 pull.log)"
grep -q "^docker.io/library/bb:1$" pull.log || fail "pull bb:1 did not print the full reference"
[ "$(mk image inspect -f '{{.Id}}' bb:1)" = "$IMG_ID" ] || fail "bb:1 through the mirror has another image ID"
grep -q '"GET /v2/library/bb/manifests/1' "$REG_LOG" || fail "the mirror saw no GET of library/bb"

mk pull -q registry.example.invalid/team/app:2 >/dev/null || fail "pull through a mirror of another registry"
[ "$(mk image inspect -f '{{.Id}}' registry.example.invalid/team/app:2)" = "$IMG_ID" ] || fail "team/app:2 has another image ID"

export MKIMAGE_ROOT=$W/builder
registries_json "{\"registry-mirrors\": [\"http://$M\"]}"
mkdir -p app && printf 'FROM bb:1\nCMD ["/bin/sh"]\n' >app/Dockerfile
mk build --progress plain -t app:1 app >build.log 2>&1 || { tail -n 20 build.log; fail "build FROM bb:1 through the mirror"; }
grep -qF "[internal] load metadata for docker.io/library/bb:1" build.log || fail "the build did not pull bb:1"
pass
