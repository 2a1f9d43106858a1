#!/usr/bin/env bash
# Layer commit/export benchmark (not a test). Builds a 1 GiB mixed tree (50,000
# small files + a few large ones), then times, on the same warm tree:
#   tar -c DIR | sha256sum         the limit for a commit
#   mkimage commit                 tar + sha256 + blob file (fsync), one pass
#   tar -c DIR | gzip -1, | zstd -3   the limits for an export (and | gzip -6,
#                                     the level mkimage, docker and BuildKit use)
#   mkimage export gzip / zstd     compression of the committed layer blob
# and prints the ratios. Usage: bench/layer/run.sh [BUILD_DIR]  (env BENCH_DIR =
# where to put the tree and store, default /tmp/mkimage-bench-layer; KEEP=1 keeps it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
driver=$build/bench/bench_layer_driver
[ -x "$driver" ] || { echo "build the driver first: cmake --build $build --target bench_layer_driver" >&2; exit 1; }
work=${BENCH_DIR:-/tmp/mkimage-bench-layer}
tree=$work/tree
root=$work/root
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
rm -rf "$root"
mkdir -p "$work"

if [ ! -f "$tree/.complete" ]; then
  rm -rf "$tree"
  echo "generating the tree in $tree ..." >&2
  python3 - "$tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10))) for _ in range(5000)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) + (b"\n" if rnd.random() < 0.1 else b" ")
    return bytes(out[:n])
total = 0
# 50,000 small files (0-16 KiB; half text, half random bytes) in 1,000 directories
for i in range(50000):
    d = os.path.join(root, "d%02d" % (i % 50), "s%03d" % (i % 1000 // 50))
    os.makedirs(d, exist_ok=True)
    n = rnd.randint(0, 16384)
    data = text(n) if i % 2 else os.urandom(n)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(data)
    total += n
# a few large files up to 1 GiB in all: text-like, random, and zero-heavy
big = os.path.join(root, "big")
os.makedirs(big, exist_ok=True)
left = (1 << 30) - total
chunk = text(1 << 20)
kinds = ["text", "random", "sparse-ish", "text"]
for k, kind in enumerate(kinds):
    size = left // (len(kinds) - k)
    left -= size
    with open(os.path.join(big, "large%d.%s" % (k, kind)), "wb") as f:
        written = 0
        while written < size:
            n = min(1 << 20, size - written)
            if kind == "random":
                f.write(os.urandom(n))
            elif kind == "sparse-ish":
                f.write(bytes(n // 2) + chunk[: n - n // 2])
            else:
                f.write(chunk[:n])
            written += n
PY
  touch "$tree/.complete"
fi
rm -f "$tree/.complete"  # not part of the measured tree
du -sh --apparent-size "$tree" >&2

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN{printf "%.3f", b-a}'; }
tar -c -C "$tree" . >/dev/null   # warm the page cache
tar_sha=$(t bash -c "tar -c -C '$tree' . | sha256sum")
tar_gz=$(t bash -c "tar -c -C '$tree' . | gzip -1")
tar_gz6=$(t bash -c "tar -c -C '$tree' . | gzip -6")
tar_zst=$(t bash -c "tar -c -C '$tree' . | zstd -3 -q -c")
tar_only=$(t bash -c "tar -c -C '$tree' . | cat")
read -r _ commit bytes diff < <("$driver" commit "$root" "$tree")
read -r _ gz gzbytes < <("$driver" export "$root" "$diff" gzip)
read -r _ zst zstbytes < <("$driver" export "$root" "$diff" zstd)
touch "$tree/.complete"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
cat <<EOF2
tree: $(find "$tree" -type f | wc -l) files, layer tar $bytes bytes ($diff)
tar -c | cat                 ${tar_only}s
tar -c | sha256sum           ${tar_sha}s
mkimage commit               ${commit}s   ratio to tar|sha256sum: $(ratio "$commit" "$tar_sha")
tar -c | gzip -1             ${tar_gz}s
tar -c | gzip -6             ${tar_gz6}s   (gzip's default level, the level docker and BuildKit use)
mkimage export gzip (lvl 6)  ${gz}s   ratio to tar|gzip -1: $(ratio "$gz" "$tar_gz"), to tar|gzip -6: $(ratio "$gz" "$tar_gz6")   ($gzbytes bytes)
tar -c | zstd -3             ${tar_zst}s
mkimage export zstd (lvl 3)  ${zst}s   ratio to tar|zstd -3: $(ratio "$zst" "$tar_zst")   ($zstbytes bytes)
EOF2
