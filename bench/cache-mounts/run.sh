#!/usr/bin/env bash
# bench/cache-mounts: restoring a ~200 MB RUN --mount=type=cache directory (an
# npm-like cache: ~2,000 files of already-compressed bytes) on a fresh store
# from a --cache-to ...,mounts=true export in a local docker-registry
# (127.0.0.1, no auth), beside the physical limit: a plain `curl` GET of the
# same blob from the same registry (the raw transfer) and `curl | zstd -d | tar x`
# (transfer + unpack with stock tools: zstd -d | tar x). Also times the export itself (tar of
# the mount, zstd, upload) and a second, unchanged export.
#
#   bench/cache-mounts/run.sh [MKIMAGE_BINARY]   (default build/mkimage; root needed)
#   SIZE_MB=200  FILES=2000  RUNS=3 (median reported)
#   OUT=FILE     results file (default bench/cache-mounts/results.txt, not committed)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
SIZE_MB=${SIZE_MB:-200}
FILES=${FILES:-2000}
RUNS=${RUNS:-3}
OUT=${OUT:-$here/results.txt}
REGPY=$src/tests/registry/registry.py
die() { echo "bench/cache-mounts: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$mk" ] || die "$mk is not built"
[ -x /bin/busybox ] || die "/bin/busybox (busybox-static) is not installed"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
W=$(mktemp -d /tmp/mkimage-bench-mounts.XXXXXX)
export DOCKER_CONFIG=$W/docker-config
mkdir -p "$DOCKER_CONFIG"
trap 'python3 "$REGPY" stop --dir "$W/reg" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
# step_secs LOG NAME: the DONE time of the step whose title contains NAME
step_secs() {
  python3 - "$1" "$2" <<'PY'
import re, sys
num = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"#(\d+) (.*)$", line.rstrip("\n"))
    if not m: continue
    if num is None and sys.argv[2] in m.group(2): num = m.group(1)
    elif num == m.group(1):
        d = re.match(r"DONE ([0-9.]+)s", m.group(2))
        if d: print(d.group(1)); break
PY
}

port=$(python3 "$REGPY" start --dir "$W/reg" --auth none --lifetime 7200) || die "the registry did not start"
R=127.0.0.1:$port
cd "$W"

# base image and the app
mkdir -p rootfs/bin rootfs/etc && cp /bin/busybox rootfs/bin/ && ln -s busybox rootfs/bin/sh
echo 'root:x:0:0:root:/root:/bin/sh' >rootfs/etc/passwd
tar --sort=name --mtime=@0 --owner=0 --group=0 -C rootfs -cf base.tar .
MKIMAGE_ROOT=$W/A "$mk" import base.tar "$R/base:1" >/dev/null || die "import"
MKIMAGE_ROOT=$W/A "$mk" push -q "$R/base:1" >/dev/null || die "push base"
mkdir -p app
per=$((SIZE_MB * 1024 / FILES))
cat >app/Dockerfile <<DF
FROM $R/base:1
ARG V=1
RUN --mount=type=cache,id=npm,target=/root/.npm ["/bin/busybox", "sh", "-c", "n=\$(ls /root/.npm 2>/dev/null | wc -l); if [ \$n -lt $FILES ]; then i=0; while [ \$i -lt $FILES ]; do head -c ${per}k /dev/urandom > /root/.npm/pkg-\$i.tgz; i=\$((i+1)); done; fi; echo \$n > /seen"]
DF
A() { MKIMAGE_ROOT=$W/A "$mk" build --progress plain "$@" app; }
t0=$(now)
A --cache-to "type=registry,ref=$R/cache:mounts,mounts=true" >log.export1 2>&1 || { tail log.export1; die "export build"; }
t_export1=$(step_secs log.export1 "exporting cache")
A --cache-to "type=registry,ref=$R/cache:mounts,mounts=true" >log.export2 2>&1 || die "second export"
t_export2=$(step_secs log.export2 "exporting cache")

# the mount's blob: the manifest's layer named by the record set's mounts entry
blob=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/cache/manifests/mounts" |
  python3 -c 'import sys,json; m=json.load(sys.stdin); print(max(m["layers"], key=lambda l: l["size"])["digest"])')
bytes=$(curl -fsSI "http://$R/v2/cache/blobs/$blob" | tr -d '\r' | awk 'tolower($1)=="content-length:" {print $2}')

restore=() curl_raw=() curl_untar=()
for i in $(seq "$RUNS"); do
  rm -rf "$W/F" && mkdir -p "$W/F"
  MKIMAGE_ROOT=$W/F "$mk" pull -q "$R/base:1" >/dev/null || die "pull base"
  MKIMAGE_ROOT=$W/F "$mk" build --progress plain --build-arg V=$i.x --cache-from "type=registry,ref=$R/cache:mounts" app \
    >log.restore 2>&1 || { tail log.restore; die "restore build"; }
  grep -q "restoring cache mount npm" log.restore || die "the mount was not restored"
  restore+=("$(step_secs log.restore "restoring cache mount")")
  t=$(now); curl -fsS -o /dev/null "http://$R/v2/cache/blobs/$blob" || die "curl"; curl_raw+=("$(since "$t")")
  rm -rf un && mkdir un
  t=$(now); curl -fsS "http://$R/v2/cache/blobs/$blob" | zstd -dc | tar -x -C un || die "curl|tar"; curl_untar+=("$(since "$t")")
done
m_restore=$(median "${restore[@]}")
m_raw=$(median "${curl_raw[@]}")
m_untar=$(median "${curl_untar[@]}")
ratio=$(python3 -c "print(f'{$m_restore/$m_raw:.2f}')")
{
  echo "bench/cache-mounts: a $SIZE_MB MB cache mount ($FILES files), blob $((bytes / 1048576)) MiB zstd; median of $RUNS"
  printf '%-44s %8s\n' "what" "seconds"
  printf '%-44s %8s\n' "mkimage export, first (tar+zstd+upload)" "$t_export1"
  printf '%-44s %8s\n' "mkimage export, unchanged" "$t_export2"
  printf '%-44s %8s\n' "mkimage restore on a fresh store" "$m_restore"
  printf '%-44s %8s\n' "curl GET of the blob (raw transfer)" "$m_raw"
  printf '%-44s %8s\n' "curl | zstd -d | tar x" "$m_untar"
  echo "restore / raw transfer = $ratio (the issue's bound: 2.0)"
} | tee "$OUT"
