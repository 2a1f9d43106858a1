#!/usr/bin/env bash
# bench/miss-reason: what keeping key inputs for miss reasons costs
# (docs/cache.md "Why a step ran"). Two builders side by side, each on its own
# root: BASE (a binary without miss reasons) and NEW. Two projects:
# testdata/cache-order (Dockerfile.ordered) and a generated 10,000-file context.
# For each: a cold build, then RUNS rebuilds after a one-file edit (the COPY and
# what follows miss, so reasons are computed and inputs stored), median wall and
# CPU (user + sys) time, each followed by a warm rebuild (median CPU time);
# then the root's size (blobs, snapshots, index) and the bytes the explanations
# take in the index.
#
#   bench/miss-reason/run.sh BASE_BINARY [NEW_BINARY]   (root needed)
#   RUNS=N (default 7)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
base=${1:?usage: run.sh BASE_BINARY [NEW_BINARY]}
new=${2:-$src/build/mkimage}
RUNS=${RUNS:-7}
[ "$(id -u)" = 0 ] || { echo "bench/miss-reason: needs root" >&2; exit 1; }

W=$(mktemp -d /tmp/mkimage-bench-missreason.XXXXXX)
cleanup() {
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT

median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# project cache-order
cp -a "$src/testdata/cache-order" "$W/order"
cp /bin/busybox "$W/order/busybox"
# project big: 10,000 files of 1 KiB in 100 directories
mkdir -p "$W/big/src"
cp /bin/busybox "$W/big/busybox"
python3 - "$W/big/src" <<'PY'
import os, sys, random
root = sys.argv[1]
r = random.Random(1)
for d in range(100):
    os.makedirs(f"{root}/m{d:03d}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/m{d:03d}/f{f:03d}.js", "w") as fh:
            fh.write("".join(r.choice("abcdefghij\n") for _ in range(1024)))
PY
cat >"$W/big/Dockerfile" <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY src/ /src/
RUN ls -R /src | wc -l
DF

# run BIN ROOT DIR DOCKERFILE EDITFILE: prints "cold median_edit_rebuild root_bytes explain_bytes"
run() {
  local bin=$1 root=$2 dir=$3 df=$4 edit=$5 t0 t1 times=()
  rm -rf "$root"
  t0=$EPOCHREALTIME
  "$bin" --root "$root" build --progress plain -f "$df" -t bench "$dir" >"$W/log" 2>&1 || { tail "$W/log"; exit 1; }
  t1=$EPOCHREALTIME
  local cold; cold=$(elapsed "$t0" "$t1")
  local cpu=() warm=()
  for ((i = 0; i < RUNS; i++)); do
    echo "edit $i $RANDOM" >>"$edit"
    t0=$EPOCHREALTIME
    /usr/bin/time -f "%U %S" -o "$W/cpu" "$bin" --root "$root" build --progress plain -f "$df" -t bench "$dir" \
      >"$W/log" 2>&1 || { tail "$W/log"; exit 1; }
    t1=$EPOCHREALTIME
    times+=("$(elapsed "$t0" "$t1")")
    cpu+=("$(awk '{print $1 + $2}' "$W/cpu")")
    # and a warm rebuild (everything cached)
    /usr/bin/time -f "%U %S" -o "$W/cpu" "$bin" --root "$root" build --progress plain -f "$df" -t bench "$dir" \
      >"$W/log" 2>&1 || { tail "$W/log"; exit 1; }
    warm+=("$(awk '{print $1 + $2}' "$W/cpu")")
  done
  local bytes; bytes=$(du -sb "$root" | cut -f1)
  local explain; explain=$(python3 - "$root/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
try:
    a = db.execute("SELECT coalesce(sum(length(key)+length(scope)+length(stage)+length(step)+length(chain)+coalesce(length(files),0)),0) FROM cache_inputs").fetchone()[0]
    b = db.execute("SELECT coalesce(sum(length(data)+length(digest)),0) FROM cache_file_lists").fetchone()[0]
    print(a + b)
except sqlite3.OperationalError:
    print(0)
PY
)
  echo "$cold $(median "${times[@]}") $(median "${cpu[@]}") $(median "${warm[@]}") $bytes $explain"
}

printf '%-8s %-6s %8s %10s %10s %10s %12s %12s\n' project binary cold_s edit_s edit_cpu_s warm_cpu_s root_bytes explain_bytes
for p in order big; do
  if [ $p = order ]; then df=$W/order/Dockerfile.ordered; ed=$W/order/src/util.sh; else df=$W/big/Dockerfile; ed=$W/big/src/m050/f050.js; fi
  for which in base new; do
    bin=$base; [ $which = new ] && bin=$new
    read -r cold reb cpu warm bytes expl < <(run "$bin" "$W/root-$which-$p" "$W/$p" "$df" "$ed")
    printf '%-8s %-6s %8s %10s %10s %10s %12s %12s\n' "$p" "$which" "$cold" "$reb" "$cpu" "$warm" "$bytes" "$expl"
  done
done
