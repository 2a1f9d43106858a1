#!/usr/bin/env bash
# Parity with BuildKit: builds each FROM-scratch testdata/ context with mkimage
# and with docker 20.10's BuildKit (DOCKER_BUILDKIT=1 docker build --network=host),
# exports both (mkimage --output type=docker, docker save) and compares the final
# file tree (paths, types, modes, uid/gid, symlink targets, content digests) and
# the config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes,
# Labels, StopSignal, Healthcheck). Prints one table row per context.
# Known differences of docker 20.10 are listed (`expected` below, each with its
# reason); any other difference, and any build that fails (or that is meant to
# fail and builds), fails the test. A ctest test (interop.parity).
#   tests/interop/parity.sh [MKIMAGE_BINARY]    (root; starts a private dockerd)
# Exit 0 = ok, 1 = failure, 77 = skipped (not root, no docker, dockerd does not start).
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
mk=${1:-${MKIMAGE:-$src/build/mkimage}}
handed=${MKIMAGE_HANDED_DIR:-$src/testdata/handed}
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
[ "$(id -u)" = 0 ] || { echo "parity: skipped: needs root (starts a private dockerd)"; exit 77; }
[ -x "$DOCKER" ] && [ -x "$DOCKERD" ] || { echo "parity: skipped: $DOCKER / $DOCKERD are not installed (docker.io; scripts/deps.sh installs it)"; exit 77; }
[ -x /bin/busybox ] || { echo "parity: skipped: /bin/busybox (busybox-static) is missing"; exit 77; }
command -v python3 >/dev/null || { echo "parity: skipped: python3 is missing"; exit 77; }
W=$(mktemp -d /tmp/mkimage-parity.XXXXXX)
dockerd_pid=
# _pids_under DIR: pids of processes whose command line names DIR
_pids_under() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
  done
}
cleanup() {
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    # its containerd and shims, if dockerd could not take them down
    for p in $(_pids_under "$W/docker-exec") $(_pids_under "$W/docker-data"); do kill -KILL "$p" 2>/dev/null; done
  fi
  # dockerd leaves mounts (overlay, netns) under its exec-root and data-root
  grep -o " $W/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
# A private dockerd (own socket, data-root and exec-root under $W): the host's
# daemon, if any, is left alone, and parallel tests do not share one.
export DOCKER_HOST=unix://$W/docker.sock
"$DOCKERD" --iptables=false --bridge=none --data-root "$W/docker-data" --exec-root "$W/docker-exec" \
  --pidfile "$W/docker.pid" -H "$DOCKER_HOST" </dev/null >"$W/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 120); do
  "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.25
done
"$DOCKER" version >/dev/null 2>&1 ||
  { echo "parity: skipped: the private dockerd did not start: $(tail -n 3 "$W/dockerd.log" | tr '\n' ' ')"; exit 77; }
export MKIMAGE_ROOT=$W/root

# compare NAME MK_TAR BK_TAR [PREFIX]: prints the row; fails on a difference
# (tree paths under PREFIX that BuildKit lacks are expected ones, said so)
compare() {
  python3 - "$handed/cases/lib.py" "$@" <<'PY'
import hashlib, importlib.util, json, os, stat, sys, tempfile
spec = importlib.util.spec_from_file_location("lib", sys.argv[1]); lib = importlib.util.module_from_spec(spec); spec.loader.exec_module(lib)
name, a, b = sys.argv[2:5]
prefix = sys.argv[5] if len(sys.argv) > 5 else None
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
alldiffs = [p for p in sorted(set(ta) | set(tb)) if ta.get(p) != tb.get(p)]
known = [p for p in alldiffs if prefix and (p == prefix or p.startswith(prefix + "/")) and p not in tb]
diffs = [p for p in alldiffs if p not in known]
cdiffs = [k for k in ca if ca[k] != cb[k]]
tree_col = f"{len(diffs)} differ" if diffs else f"match but for {len(known)} expected under {prefix}" if known else "match"
print(f"| {name} | {len(ta)} | {tree_col} | {'match' if not cdiffs else 'differ: ' + ', '.join(cdiffs)} |")
for p in diffs[:10]: print(f"    tree {p}: mkimage {ta.get(p)} buildkit {tb.get(p)}", file=sys.stderr)
for k in cdiffs: print(f"    config {k}: mkimage {ca[k]} buildkit {cb[k]}", file=sys.stderr)
sys.exit(1 if diffs or cdiffs else 0)
PY
}

# The contexts whose outcome is not "both build; file tree and config match":
# NAME → "MK BK [PREFIX]: why". MK and BK: ok or fails, the outcome of
# mkimage's and of BuildKit's build; PREFIX: tree paths under it that BuildKit
# leaves out. Any other outcome (a build that fails, or one meant to fail that
# builds) fails this test.
declare -A expected=(
  [03-heredoc-copy/Dockerfile]="ok fails: docker 20.10's BuildKit without a '# syntax' line has no COPY heredocs"
  [06-var-modifiers/Dockerfile]="ok fails: docker 20.10's built-in Dockerfile frontend has no \${VAR-default} without ':' (\"missing ':' in substitution\")"
  [06-var-modifiers/Dockerfile.required]="fails fails: meant to fail (\${REQUIRED:?} with REQUIRED unset)"
  [07-copy-multi-src-dest/Dockerfile]="fails ok: meant to fail (several sources, destination without /); BuildKit copies one (moby/buildkit#4550)"
  [07-copy-multi-src-dest/Dockerfile.explicit]="fails ok: meant to fail (several sources, destination without /); BuildKit overwrites (moby/buildkit#1853)"
  [11-dockerignore-exceptions/Dockerfile]="ok ok /app/sub: docker 20.10's BuildKit drops the files re-included by '!**/*.py' under '*' (an old fsutil walker)"
)
# Setup a context needs before a build (its case's check.sh does the same).
setup_context() {  # setup_context NAME CONTEXT_DIR
  case $1 in
    09-copy-symlinks/*)
      (cd "$2" && ln -s real.txt link-to-real && cd linkdir && ln -s data.txt rel-link &&
        ln -s ../real.txt up-link && ln -s /nowhere/abs abs-link) ;;
  esac
}

echo "| context | paths | file tree | config |"
echo "| --- | --- | --- | --- |"
rc=0
for dir in "$src"/testdata/*/ "$handed"/cases/*/; do
  for df in "$dir"Dockerfile*; do
    [ -f "$df" ] || continue
    case $df in *.dockerignore) continue;; esac
    grep -qiE '^FROM ' "$df" || continue
    # only offline contexts: every base is scratch, a stage or an ARG (no registry here)
    grep -iE '^FROM ' "$df" | grep -qiE '^FROM +(--platform=[^ ]+ +)?(node|debian|ubuntu|alpine|busybox)' && continue
    name=$(basename "$dir")/$(basename "$df")
    rm -rf "$W/ctx"; cp -a "$dir" "$W/ctx"; [ -d "$W/ctx/context" ] && ctxdir=$W/ctx/context || ctxdir=$W/ctx
    cp /bin/busybox "$ctxdir/busybox"; chmod 755 "$ctxdir/busybox"
    setup_context "$name" "$ctxdir" || { echo "| $name | - | setup failed | - |"; rc=1; continue; }
    f="$W/ctx/$(basename "$df")"
    exp=${expected[$name]:-"ok ok: -"}
    read -r exp_mk exp_bk prefix <<<"${exp%%:*}"
    mk_out=ok bk_out=ok
    "$mk" build -q -f "$f" --output type=docker,dest="$W/mk.tar" "$ctxdir" >"$W/mk.log" 2>&1 || mk_out=fails
    "$DOCKER" rmi -f parity:cur >/dev/null 2>&1
    DOCKER_BUILDKIT=1 "$DOCKER" build --network=host -q -f "$f" -t parity:cur "$ctxdir" >"$W/bk.log" 2>&1 || bk_out=fails
    if [ "$mk_out $bk_out" != "$exp_mk $exp_bk" ]; then
      echo "| $name | - | UNEXPECTED: mkimage build $mk_out, BuildKit build $bk_out (expected $exp_mk, $exp_bk) | - |"
      { echo "    $name: mkimage build $mk_out (expected $exp_mk):"; tail -n 5 "$W/mk.log" | sed 's/^/      /'
        echo "    $name: BuildKit build $bk_out (expected $exp_bk):"; tail -n 5 "$W/bk.log" | sed 's/^/      /'; } >>"$W/diffs.txt"
      rc=1
      continue
    fi
    if [ "$mk_out $bk_out" != "ok ok" ]; then
      echo "| $name | - | as expected: mkimage build $mk_out, BuildKit build $bk_out (${exp#*: }) | - |"
      continue
    fi
    "$DOCKER" save parity:cur -o "$W/bk.tar" >"$W/save.log" 2>&1 ||
      { echo "| $name | - | docker save failed: $(tail -n 1 "$W/save.log") | - |"; rc=1; continue; }
    compare "$name" "$W/mk.tar" "$W/bk.tar" $prefix 2>>"$W/diffs.txt" || rc=1
  done
done
[ -s "$W/diffs.txt" ] && { echo; echo "differences:"; cat "$W/diffs.txt"; }
[ $rc = 0 ] && echo "parity: ok" || echo "parity: FAIL"
exit $rc
