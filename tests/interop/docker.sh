#!/usr/bin/env bash
# docker interop (not part of ctest: needs a docker daemon). Checks that
# `docker load` accepts mkimage's docker-archive, that docker sees the same image
# ID (config digest) and config, and that docker's own `docker save` of that image
# loads back into mkimage with the same ID.
#   MKIMAGE=build/mkimage tests/interop/docker.sh             uses $DOCKER_HOST / the default daemon
#   MKIMAGE=build/mkimage DOCKER_START=1 tests/interop/docker.sh
#       starts a private dockerd (--iptables=false --bridge=none, own data-root,
#       exec-root and socket under a temp dir) and stops it at the end.
# Exit 0 = ok, 1 = failure, 77 = skipped (no docker).
set -euo pipefail
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || { echo "skipped: $DOCKER not found"; exit 77; }
[ -x /bin/busybox ] || { echo "skipped: /bin/busybox is missing"; exit 77; }

W=$(mktemp -d /tmp/mkimage-docker.XXXXXX)
dockerd_pid=
cleanup() {
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  # dockerd leaves mounts (netns, overlay) under its exec-root and data-root
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$W" || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/dockerd.log" ] && tail -5 "$W/dockerd.log" >&2; exit 1; }

if [ "${DOCKER_START:-}" = 1 ]; then
  export DOCKER_HOST=unix://$W/docker.sock
  dockerd --iptables=false --bridge=none --data-root "$W/docker" --exec-root "$W/exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" >"$W/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.3; done
fi
"$DOCKER" version >/dev/null 2>&1 || { echo "skipped: no docker daemon (set DOCKER_START=1 to start one)"; exit 77; }
echo "docker: $("$DOCKER" version --format '{{.Server.Version}}')"

cd "$W"
export MKIMAGE_ROOT=$W/root
mkdir -p rootfs/bin
cp /bin/busybox rootfs/bin/busybox
ln -s busybox rootfs/bin/sh
tar -C rootfs -cf rootfs.tar .
id=$("$MKIMAGE" import rootfs.tar mkimage-interop:1 -c 'CMD ["/bin/sh","-c","echo from-mkimage"]' \
  -c 'ENV GREETING=hello' -c 'WORKDIR /srv' -c 'LABEL org.example=yes' -c 'EXPOSE 8080')
"$MKIMAGE" save -o img.tar mkimage-interop:1

out=$("$DOCKER" load -i img.tar) || fail "docker load: $out"
echo "$out"
[[ $out == *"Loaded image: mkimage-interop:1"* ]] || fail "docker load did not report the tag: $out"
did=$("$DOCKER" image inspect --format '{{.Id}}' mkimage-interop:1)
[ "$did" = "$id" ] || fail "docker sees image ID $did, mkimage made $id"
"$DOCKER" image inspect --format '{{json .Config}}' mkimage-interop:1 >docker-config.json
"$MKIMAGE" image inspect mkimage-interop:1 >mkimage-inspect.json 2>/dev/null || true
python3 - <<'PY' || fail "docker's config differs"
import json
c = json.load(open("docker-config.json"))
assert c["Cmd"] == ["/bin/sh", "-c", "echo from-mkimage"], c
assert "GREETING=hello" in c["Env"], c
assert c["WorkingDir"] == "/srv", c
assert c["Labels"] == {"org.example": "yes"}, c
assert list(c["ExposedPorts"]) == ["8080/tcp"], c
print("docker config:", json.dumps({k: c[k] for k in ("Cmd", "Env", "WorkingDir", "Labels", "ExposedPorts")}))
PY
diff_ids=$("$DOCKER" image inspect --format '{{json .RootFS.Layers}}' mkimage-interop:1)
echo "docker RootFS.Layers: $diff_ids"

# docker save → mkimage load: the same image ID again
"$DOCKER" save -o docker-saved.tar mkimage-interop:1
rm -rf "$W/root2"
out=$(MKIMAGE_ROOT=$W/root2 "$MKIMAGE" load -i docker-saved.tar) || fail "mkimage load of docker save output: $out"
[ -f "$W/root2/blobs/sha256/${id#sha256:}" ] || fail "mkimage load of docker's archive gave another image ID"

# the image runs under docker (best effort: needs a working runtime)
if run=$("$DOCKER" run --rm --network=host mkimage-interop:1 2>&1); then
  [ "$run" = from-mkimage ] || fail "docker run printed '$run'"
  echo "docker run: $run"
else
  echo "note: docker run not possible here: ${run##*$'\n'}"
fi
"$DOCKER" rmi mkimage-interop:1 >/dev/null || true
echo "interop docker: ok"
