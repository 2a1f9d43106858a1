#!/usr/bin/env bash
# Parity with BuildKit: builds each FROM-scratch testdata/ context with mkimage
# and with docker 20.10's BuildKit (DOCKER_BUILDKIT=1 docker build --network=host),
# exports both (mkimage --output type=docker, docker save) and compares the final
# file tree (paths, types, modes, uid/gid, symlink targets, content digests) and
# the config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes,
# Labels, StopSignal, Healthcheck). Prints one table row per context.
#   tests/interop/parity.sh [MKIMAGE_BINARY]    (root; starts dockerd if none runs)
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
mk=${1:-${MKIMAGE:-$src/build/mkimage}}
shared=${MKIMAGE_SHARED_DIR:-$src/testdata/handed}
[ "$(id -u)" = 0 ] || { echo "parity: skipped: needs root"; exit 77; }
command -v dockerd >/dev/null || { echo "parity: skipped: docker is not installed"; exit 77; }
W=$(mktemp -d /tmp/mkimage-parity.XXXXXX)
started=
cleanup() { [ -n "$started" ] && kill "$started" 2>/dev/null && wait "$started" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
if ! /usr/bin/docker info >/dev/null 2>&1; then
  dockerd --iptables=false --bridge=none >"$W/dockerd.log" 2>&1 &
  started=$!
  for _ in $(seq 1 60); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.5; done
  /usr/bin/docker info >/dev/null 2>&1 || { echo "parity: dockerd did not start"; exit 1; }
fi
export MKIMAGE_ROOT=$W/root

compare() {  # compare NAME MK_TAR BK_TAR
  python3 - "$shared/cases/lib.py" "$@" <<'PY'
import hashlib, importlib.util, json, os, stat, sys, tempfile
spec = importlib.util.spec_from_file_location("lib", sys.argv[1]); lib = importlib.util.module_from_spec(spec); spec.loader.exec_module(lib)
name, a, b = sys.argv[2:5]
def tree(path):
    d = tempfile.mkdtemp()
    sys.argv = ["lib.py"]
    lib.cmd_unpack(path, d)
    out = {}
    for dp, dns, fns in os.walk(d):
        for n in dns + fns:
            p = os.path.join(dp, n); rel = "/" + os.path.relpath(p, d); st = os.lstat(p)
            if rel.strip("/") in lib.TOLERATED and stat.S_ISDIR(st.st_mode) and not os.listdir(p): continue
            kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "o"
            extra = os.readlink(p) if kind == "l" else hashlib.sha256(open(p, "rb").read()).hexdigest()[:16] if kind == "f" else ""
            out[rel] = (kind, oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, extra)
    return out
def config(path):
    c = lib.Image(path).cfg.get("config") or {}
    keys = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal", "Healthcheck"]
    return {k: c.get(k) or None for k in keys}
ta, tb = tree(a), tree(b)
ca, cb = config(a), config(b)
diffs = [p for p in sorted(set(ta) | set(tb)) if ta.get(p) != tb.get(p)]
cdiffs = [k for k in ca if ca[k] != cb[k]]
print(f"| {name} | {len(ta)} | {'match' if not diffs else f'{len(diffs)} differ'} | {'match' if not cdiffs else 'differ: ' + ', '.join(cdiffs)} |")
for p in diffs[:10]: print(f"    tree {p}: mkimage {ta.get(p)} buildkit {tb.get(p)}", file=sys.stderr)
for k in cdiffs: print(f"    config {k}: mkimage {ca[k]} buildkit {cb[k]}", file=sys.stderr)
sys.exit(1 if diffs or cdiffs else 0)
PY
}

echo "| context | paths | file tree | config |"
echo "| --- | --- | --- | --- |"
rc=0
for dir in "$src"/testdata/*/ "$shared"/cases/*/; do
  for df in "$dir"Dockerfile*; do
    [ -f "$df" ] || continue
    case $df in *.dockerignore) continue;; esac
    grep -qiE '^FROM ' "$df" || continue
    # only offline contexts: every base is scratch, a stage or an ARG (no registry here)
    grep -iE '^FROM ' "$df" | grep -qiE '^FROM +(--platform=[^ ]+ +)?(node|debian|ubuntu|alpine|busybox)' && continue
    name=$(basename "$dir")/$(basename "$df")
    rm -rf "$W/ctx"; cp -a "$dir" "$W/ctx"; [ -d "$W/ctx/context" ] && ctxdir=$W/ctx/context || ctxdir=$W/ctx
    cp /bin/busybox "$ctxdir/busybox"; chmod 755 "$ctxdir/busybox"
    f="$W/ctx/$(basename "$df")"
    "$mk" build -q -f "$f" --output type=docker,dest="$W/mk.tar" "$ctxdir" >"$W/mk.log" 2>&1 || { echo "| $name | - | mkimage build failed | - |"; continue; }
    DOCKER_BUILDKIT=1 /usr/bin/docker build --network=host -q -f "$f" -t parity:cur "$ctxdir" >"$W/bk.log" 2>&1 || { echo "| $name | - | BuildKit build failed | - |"; continue; }
    /usr/bin/docker save parity:cur -o "$W/bk.tar" || continue
    compare "$name" "$W/mk.tar" "$W/bk.tar" 2>>"$W/diffs.txt" || rc=1
  done
done
[ -s "$W/diffs.txt" ] && { echo; echo "differences:"; cat "$W/diffs.txt"; }
exit $rc
