#!/usr/bin/env bash
# bench/layer/run_step.sh: the commit overhead of a RUN step that writes 1 GiB
# in 20,000 files (issue "Speed at the physical limit", target 4), next to the
# physical reference measured in the same run. Not a test.
#
# The RUN extracts a 1 GiB tar of 20,000 random 53,687-byte files (bind-mounted
# from the context, so the step's own work is cheap and the same on the host):
#   host     busybox tar -xf gen.tar -C DIR          (the same RUN on the host)
#   mkimage  a build whose only miss is that RUN     (a fresh NONCE build arg)
#   hash     cat DIR/* | openssl dgst -sha256        (SHA-NI; the bytes to hash)
# Commit overhead = mkimage − host; the target is ≤ 1.25 × hash. Every round
# removes the previous round's image and cache (`mkimage rmi`, `cache prune`) so
# that disk space stays bounded; medians of RUNS rounds (default 3).
#   bench/layer/run_step.sh [MKIMAGE]    (root; BENCH_DIR, default /var/tmp/mkimage-bench-step)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mk=${1:-$here/../../build/mkimage}
RUNS=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "run_step: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "run_step: $mk is not built" >&2; exit 1; }
work=${BENCH_DIR:-/var/tmp/mkimage-bench-step}
ctx=$work/ctx
root=$work/root
mkdir -p "$ctx"
if [ ! -f "$ctx/gen.tar" ]; then
  echo "run_step: generating $ctx/gen.tar (1 GiB, 20,000 files) ..." >&2
  python3 - "$ctx/gen.tar" <<'PY'
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for i in range(20000):
        data = os.urandom(53687)
        info = tarfile.TarInfo("d%02d/f%05d" % (i % 100, i))
        info.size = len(data)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
PY
fi
cp /bin/busybox "$ctx/busybox"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG NONCE
RUN --mount=type=bind,source=gen.tar,target=/gen.tar mkdir /out && echo "$NONCE" >/nonce && tar -xf /gen.tar -C /out
EOF

t() { local s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || { echo "run_step: failed: $*" >&2; exit 1; }; python3 -c "print(f'{$EPOCHREALTIME - $s:.3f}')"; }
median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
build() { "$mk" --root "$root" build -q --build-arg NONCE="$1" -t step:latest "$ctx"; }
clean() {
  "$mk" --root "$root" rmi step:latest >/dev/null 2>&1 || true
  "$mk" --root "$root" cache prune -f >/dev/null 2>&1 || true
}

echo "run_step: $(git -C "$here" log -1 --format='%h %s' 2>/dev/null | cut -c1-70)"
echo "run_step: load at start:$(uptime | sed 's/.*load average:/ /')"
build warmup >/dev/null 2>&1 || { echo "run_step: warm-up build failed" >&2; build warmup; exit 1; }
clean
hosts=() builds=() hashes=()
for r in $(seq 1 "$RUNS"); do
  rm -rf "$work/host"; mkdir -p "$work/host"; sync
  hosts+=("$(t busybox tar -xf "$ctx/gen.tar" -C "$work/host")")
  hashes+=("$(t bash -c "find '$work/host' -type f -print0 | sort -z | xargs -0 cat | openssl dgst -sha256")")
  rm -rf "$work/host"; sync
  builds+=("$(t build "round-$r-$RANDOM")")
  clean; sync
done
h=$(median "${hosts[@]}") b=$(median "${builds[@]}") s=$(median "${hashes[@]}")
echo "run_step: load at end:$(uptime | sed 's/.*load average:/ /')"
echo "samples: host ${hosts[*]} | mkimage ${builds[*]} | hash ${hashes[*]}"
python3 - "$h" "$b" "$s" <<'PY'
import sys
h, b, s = map(float, sys.argv[1:])
print(f"RUN on the host (tar -x of 1 GiB, 20,000 files)  {h:.3f} s")
print(f"mkimage build (that RUN the only miss)           {b:.3f} s")
print(f"commit overhead (build - host)                    {b - h:.3f} s")
print(f"sha256 of the same bytes (cat | openssl dgst)    {s:.3f} s")
print(f"ratio overhead / hash                             {(b - h) / s:.2f}x  (target <= 1.25x)")
PY
