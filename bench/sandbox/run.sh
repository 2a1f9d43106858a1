#!/usr/bin/env bash
# bench/sandbox: what the RUN sandbox costs (docs/design/sandbox.md keeps the
# last results).
#   1. a trivial RUN (`busybox true`): whole-build wall time, median of RUNS
#      builds with --no-cache, in three setups:
#        host+insecure  --network=host, RUN --security=insecure (no seccomp, no
#                       noNewPrivileges: the sandbox before the change)
#        host           --network=host with the default sandbox (seccomp, nnp)
#        private        the default: a private namespace through slirp4netns
#   2. a download inside a RUN: SIZE_MB from a local HTTP server on the host's
#      primary (non-loopback) address, `nc` into `wc -c`, timed inside the RUN
#      (busybox `time -p`),
#      host network vs private network (median of RUNS).
#
#   bench/sandbox/run.sh [MKIMAGE_BINARY]   (default build/mkimage; root needed)
#   RUNS=N (default 7), SIZE_MB=N (default 256)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-7}
SIZE_MB=${SIZE_MB:-256}
[ "$(id -u)" = 0 ] || { echo "bench/sandbox: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "bench/sandbox: $mk is not built" >&2; exit 1; }
hostip=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
[ -n "$hostip" ] || { echo "bench/sandbox: no non-loopback IPv4 address" >&2; exit 1; }

W=$(mktemp -d /tmp/mkimage-bench-sandbox.XXXXXX)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
export MKIMAGE_ROOT=$W/root
mkdir -p "$W/ctx" "$W/www"
cp /bin/busybox "$W/ctx/busybox"
head -c $((SIZE_MB << 20)) /dev/zero >"$W/www/big"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("'"$hostip"'", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind "$hostip" --directory "$W/www" >/dev/null 2>&1 &
srv=$!
sleep 1

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

trivial() {  # $1 = label, $2 = RUN flags, rest = build flags
  local label=$1 runflags=$2; shift 2
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN %s ["/bin/busybox", "true"]\n' "$runflags" >"$W/ctx/Dockerfile"
  "$mk" build -q "$@" "$W/ctx" >/dev/null || { echo "build failed ($label)" >&2; exit 1; }  # warm the base
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(now)
    "$mk" build -q --no-cache "$@" "$W/ctx" >/dev/null || exit 1
    t1=$(now)
    echo "$t1 - $t0" | bc -l
  done | median | awk -v l="$label" '{printf "trivial RUN build  %-14s %.3f s\n", l, $1}'
}

download() {  # $1 = label, rest = build flags
  local label=$1; shift
  cat >"$W/ctx/Dockerfile" <<EOF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN printf 'GET /big HTTP/1.0\r\n\r\n' > /req; time -p sh -c 'nc $hostip $port < /req | wc -c'
EOF
  for _ in $(seq "$RUNS"); do
    "$mk" build --progress plain --no-cache "$@" "$W/ctx" 2>&1 | awk '$3 == "real" {print $4}'
  done | median | awk -v l="$label" -v mb="$SIZE_MB" '{printf "download %d MiB    %-14s %.2f s (%.0f MiB/s)\n", mb, l, $1, mb / $1}'
}

echo "bench/sandbox: $(nproc) cores, kernel $(uname -r), slirp4netns $(slirp4netns --version | awk 'NR==1 {print $3}'), runs $RUNS"
trivial host+insecure "--security=insecure" --network=host --allow security.insecure
trivial host "" --network=host
trivial private ""
download host --network=host
download private
