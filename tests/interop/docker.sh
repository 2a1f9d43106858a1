#!/usr/bin/env bash
# docker interop (the ctest test interop.docker runs it with DOCKER_START=1 and
# INTEROP_GOALS=skip: the busybox part, some 6 s). Checks that
# `docker load` accepts mkimage's docker-archive, that docker sees the same image
# ID (config digest) and config, and that docker's own `docker save` of that image
# loads back into mkimage with the same ID.
#   MKIMAGE=build/mkimage tests/interop/docker.sh             uses $DOCKER_HOST / the default daemon
#   MKIMAGE=build/mkimage DOCKER_START=1 tests/interop/docker.sh
#       starts a private dockerd (--iptables=false --bridge=none, own data-root,
#       exec-root and socket under a temp dir) and stops it at the end.
#
# Then the real job, the demo image goals:latest (scripts/demo.sh) from the store
# MKIMAGE_ROOT (default /var/lib/mkimage; only read): `mkimage save` → `docker
# load` → `docker run -d --network=host goals:latest` must answer on
# http://127.0.0.1:80/ with "<h1>Course Goals"; then the same archive under
# podman (`podman load` of the docker-archive and `podman pull oci-archive:` of
# an oci-archive save, each run with --network=host and answering on port 80).
# Docker and podman run one after the other (both use the host's port 80).
# Podman uses a private storage root under the temp dir.
#   INTEROP_GOALS=auto     (default) check goals:latest if the store holds it,
#                          otherwise say that this part is SKIPPED and why
#   INTEROP_GOALS=build    run scripts/demo.sh on that store first (builds it)
#   INTEROP_GOALS=require  fail when goals:latest is absent
#   INTEROP_GOALS=skip     leave the goals part out (said so in the output)
#   INTEROP_PODMAN=0       leave the podman part out (said so in the output)
# Exit 0 = ok, 1 = failure, 77 = skipped (no docker, or a dockerd that cannot
# start; the reason is printed).
set -euo pipefail
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
src=$(cd "$(dirname "$0")/../.." && pwd)
store=${MKIMAGE_ROOT:-/var/lib/mkimage}
INTEROP_GOALS=${INTEROP_GOALS:-auto}
case $INTEROP_GOALS in auto|build|require|skip) ;; *) echo "INTEROP_GOALS must be auto, build, require or skip" >&2; exit 1 ;; esac
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || { echo "skipped: $DOCKER not found"; exit 77; }
[ -x /bin/busybox ] || { echo "skipped: /bin/busybox is missing"; exit 77; }

W=$(mktemp -d /tmp/mkimage-docker.XXXXXX)
dockerd_pid=
podman_cmd=()
# _pids_under DIR: pids of processes whose command line names DIR
_pids_under() {
  local p
  for p in /proc/[0-9]*; do
    grep -qF -- "$1" < <(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) && echo "${p#/proc/}"
  done
}
cleanup() {
  # no errexit here: a failing step (say, grep finding no mount) would replace
  # the script's exit status (77 for a skip) with its own
  set +e
  if [ ${#podman_cmd[@]} -gt 0 ]; then
    "${podman_cmd[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    "${podman_cmd[@]}" rmi -af >/dev/null 2>&1 || true
  fi
  "$DOCKER" rm -f mkimage-interop-goals >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
    # its containerd and shims, if dockerd could not take them down
    for p in $(_pids_under "$W/exec") $(_pids_under "$W/docker"); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  # dockerd leaves mounts (netns, overlay) under its exec-root and data-root
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$W" || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/dockerd.log" ] && tail -5 "$W/dockerd.log" >&2; exit 1; }

if [ "${DOCKER_START:-}" = 1 ]; then
  DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
  [ -x "$DOCKERD" ] || { echo "skipped: $DOCKERD not found"; exit 77; }
  [ "$(id -u)" = 0 ] || { echo "skipped: starting a dockerd needs root"; exit 77; }
  export DOCKER_HOST=unix://$W/docker.sock
  "$DOCKERD" --iptables=false --bridge=none --data-root "$W/docker" --exec-root "$W/exec" \
    --pidfile "$W/docker.pid" -H "$DOCKER_HOST" </dev/null >"$W/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 120); do
    "$DOCKER" version >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.25
  done
  "$DOCKER" version >/dev/null 2>&1 ||
    { echo "skipped: the private dockerd did not start: $(tail -n 3 "$W/dockerd.log" | tr '\n' ' ')"; exit 77; }
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
echo "busybox docker-archive: ok"
summary=("busybox docker-archive → docker: ok")

# --- the real job: goals:latest ------------------------------------------------
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
port80_busy() { [ -n "$(ss -Hltn 'sport = :80' 2>/dev/null)" ]; }

# wait_page WHAT: waits (60 s at most) until http://127.0.0.1:80/ answers; the page
# must hold "<h1>Course Goals"; prints the heading line; sets $answer_s.
wait_page() {
  local page t0
  t0=$(now)
  for _ in $(seq 120); do
    if page=$(curl -fsS --max-time 2 http://127.0.0.1:80/ 2>/dev/null); then
      answer_s=$(elapsed "$t0" "$(now)")
      [[ $page == *"<h1>Course Goals"* ]] || fail "$1: the page on port 80 lacks '<h1>Course Goals': ${page:0:200}"
      echo "$1: port 80 answers after ${answer_s}s: $(printf '%s\n' "$page" | grep -m1 '<h1>' | sed 's/^ *//')"
      return 0
    fi
    sleep 0.5
  done
  return 1
}
# wait_port80_free WHAT: the previous container let go of port 80
wait_port80_free() {
  for _ in $(seq 40); do port80_busy || return 0; sleep 0.25; done
  fail "$1: port 80 still in use after the container was removed"
}

goals_skip=
if [ "$INTEROP_GOALS" = skip ]; then
  goals_skip="INTEROP_GOALS=skip"
else
  if [ "$INTEROP_GOALS" = build ]; then
    echo "building goals:latest with scripts/demo.sh on $store"
    MKIMAGE_ROOT=$store bash "$src/scripts/demo.sh" >"$W/demo.log" 2>&1 ||
      { tail -30 "$W/demo.log" >&2; fail "scripts/demo.sh"; }
    sed -n '/==> Summary/,$p' "$W/demo.log"
  fi
  if ! MKIMAGE_ROOT=$store "$MKIMAGE" image inspect goals:latest >/dev/null 2>&1; then
    [ "$INTEROP_GOALS" = require ] && fail "the store $store holds no goals:latest (INTEROP_GOALS=require)"
    goals_skip="the store $store holds no goals:latest (run scripts/demo.sh, or INTEROP_GOALS=build)"
  fi
fi

if [ -n "$goals_skip" ]; then
  echo "goals:latest part: SKIPPED: $goals_skip"
  summary+=("goals:latest → docker/podman: SKIPPED ($goals_skip)")
else
  port80_busy && fail "something already listens on port 80 ($(ss -Hltnp 'sport = :80' | head -1)); cannot check goals:latest"
  t0=$(now)
  MKIMAGE_ROOT=$store "$MKIMAGE" save -o goals.tar goals:latest || fail "mkimage save goals:latest"
  save_s=$(elapsed "$t0" "$(now)")
  # the image ID is the archive's config digest (read from the archive itself:
  # the store's tag may move while this runs)
  gid=$(tar -xOf goals.tar manifest.json | python3 -c '
import json, sys, re
m = json.load(sys.stdin)[0]
assert m["RepoTags"] == ["goals:latest"], m["RepoTags"]
print("sha256:" + re.sub(r"^blobs/sha256/|\.json$", "", m["Config"]))') || fail "goals.tar: no manifest.json for goals:latest"
  echo "goals:latest $gid: mkimage save ${save_s}s, $(du -m goals.tar | cut -f1) MB"

  t0=$(now)
  out=$("$DOCKER" load -i goals.tar) || fail "docker load goals.tar: $out"
  load_s=$(elapsed "$t0" "$(now)")
  [[ $out == *"Loaded image: goals:latest"* ]] || fail "docker load did not report goals:latest: $out"
  did=$("$DOCKER" image inspect --format '{{.Id}}' goals:latest)
  [ "$did" = "$gid" ] || fail "docker sees goals:latest as $did, the archive holds $gid"
  cfg=$("$DOCKER" image inspect --format '{{json .Config.Cmd}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}}' goals:latest)
  [ "$cfg" = '["node","server.js"] /app {"80/tcp":{}}' ] || fail "docker's config of goals:latest: $cfg"
  echo "docker load: ${load_s}s, same image ID, config Cmd/WorkingDir/ExposedPorts: $cfg"
  t0=$(now)
  "$DOCKER" run -d --network=host --name mkimage-interop-goals goals:latest >/dev/null || fail "docker run goals:latest"
  wait_page "docker run" || { "$DOCKER" logs mkimage-interop-goals 2>&1 | tail -20 >&2; fail "docker run goals:latest: no answer on port 80 within 60 s"; }
  docker_s=$answer_s
  "$DOCKER" rm -f mkimage-interop-goals >/dev/null
  "$DOCKER" rmi goals:latest >/dev/null || true
  wait_port80_free "docker"
  summary+=("goals:latest → docker 20.10: ok (mkimage save ${save_s}s, docker load ${load_s}s, page after ${docker_s}s)")

  # --- podman ---------------------------------------------------------------
  if [ "${INTEROP_PODMAN:-1}" = 0 ]; then
    echo "podman part: SKIPPED: INTEROP_PODMAN=0"
    summary+=("goals:latest → podman: SKIPPED (INTEROP_PODMAN=0)")
  elif ! command -v podman >/dev/null; then
    echo "podman part: SKIPPED: podman is not installed (apt-get install podman)"
    summary+=("goals:latest → podman: SKIPPED (podman not installed)")
  else
    podman_cmd=(podman --root "$W/podman" --runroot "$W/podman-run" --tmpdir "$W/podman-tmp"
      --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
    pv=$("${podman_cmd[@]}" version --format '{{.Client.Version}}')
    echo "podman: $pv"
    # podman_check HOW: the loaded image has the archive's ID and answers on port 80
    podman_check() {
      local ref pid
      ref=$("${podman_cmd[@]}" image inspect --format '{{.Id}}' goals:latest) || fail "podman ($1): no goals:latest"
      [ "sha256:$ref" = "$gid" ] || [ "$ref" = "$gid" ] || fail "podman ($1) sees goals:latest as $ref, the archive holds $gid"
      "${podman_cmd[@]}" run -d --network=host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        --name mkimage-interop-goals goals:latest >/dev/null || fail "podman run ($1)"
      wait_page "podman run ($1)" || { "${podman_cmd[@]}" logs mkimage-interop-goals 2>&1 | tail -20 >&2; fail "podman ($1): no answer on port 80 within 60 s"; }
      "${podman_cmd[@]}" rm -f -t 0 mkimage-interop-goals >/dev/null
      "${podman_cmd[@]}" rmi -af >/dev/null
      wait_port80_free "podman ($1)"
    }
    t0=$(now)
    out=$("${podman_cmd[@]}" load -i goals.tar 2>&1) || fail "podman load goals.tar: $out"
    pload_s=$(elapsed "$t0" "$(now)")
    echo "podman load: ${pload_s}s: ${out##*$'\n'}"
    podman_check "docker-archive"
    summary+=("goals:latest → podman $pv (podman load, docker-archive): ok (load ${pload_s}s, page after ${answer_s}s)")

    rm -f goals.tar
    MKIMAGE_ROOT=$store "$MKIMAGE" save --format oci-archive -o goals-oci.tar "$gid" ||
      fail "mkimage save --format oci-archive"
    t0=$(now)
    out=$("${podman_cmd[@]}" pull -q oci-archive:goals-oci.tar 2>&1) || fail "podman pull oci-archive: $out"
    ppull_s=$(elapsed "$t0" "$(now)")
    "${podman_cmd[@]}" tag "${out##*$'\n'}" goals:latest || fail "podman tag ${out##*$'\n'}"
    echo "podman pull oci-archive: ${ppull_s}s"
    podman_check "oci-archive"
    summary+=("goals:latest → podman $pv (podman pull oci-archive:): ok (pull ${ppull_s}s, page after ${answer_s}s)")
  fi
fi

echo
echo "interop summary:"
printf '  %s\n' "${summary[@]}"
echo "interop docker: ok"
