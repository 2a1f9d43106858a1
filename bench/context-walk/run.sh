#!/usr/bin/env bash
# bench/context-walk: warm rebuild of a 100,000-file build context (issue 15,
# "Context re-check at stat speed"). `FROM scratch` + `COPY . /ctx`, nothing
# changed, against the physical limit measured in the same run: a bare stat walk
# of the same context (`find CTX -printf '%s %T@\n'`). Also runs an edit of one
# file (the COPY must rebuild, only that file rehashed) and prints the ratios
# (docs/performance.md keeps the last results). The re-check alone, without the
# build around it: build/bench/bench_context-walk_driver ROOT CTX (driver.cpp).
#
#   bench/context-walk/run.sh [MKIMAGE_BINARY]   (default build/mkimage; root needed)
#   RUNS=N      warm rebuilds and stat walks, interleaved (median reported; default 5)
#   FILES=N     files in the context (default 100000)
#   BENCH_DIR   where the context and the store live (default /var/tmp/mkimage-bench-ctxwalk;
#               kept between runs: deleting 100k files slows file creation on some VMs
#               for minutes, so the context is generated once and reused)
#   STORE=DIR   the store (--root) to use (default $BENCH_DIR/root-$FILES): e.g. one per
#               binary when comparing two whose index schemas differ
#   EDIT=0      skip the edit-one-file check (each one adds a 100,000-file layer to the store)
#   COLD=1      start from an empty store (the old one is moved aside and removed
#               after the measurements); otherwise a cold build runs only when the
#               store does not exist yet
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=${1:-$src/build/mkimage}
RUNS=${RUNS:-5}
FILES=${FILES:-100000}
W=${BENCH_DIR:-/var/tmp/mkimage-bench-ctxwalk}
[ "$(id -u)" = 0 ] || { echo "bench/context-walk: needs root" >&2; exit 1; }
[ -x "$mk" ] || { echo "bench/context-walk: $mk is not built" >&2; exit 1; }
mkdir -p "$W"
ctx=$W/ctx-$FILES
root=${STORE:-$W/root-$FILES}
df=$W/Dockerfile

if [ ! -f "$ctx.complete" ]; then
  rm -rf "$ctx"
  echo "bench/context-walk: generating $FILES files in $ctx ..." >&2
  python3 - "$ctx" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
# 100 files per directory, 50 directories per top-level directory: a source tree's shape.
per_dir, dirs_per_top = 100, 50
i = 0
while i < n:
    d = os.path.join(root, f"top{i // (per_dir * dirs_per_top):03d}", f"dir{(i // per_dir) % dirs_per_top:02d}")
    os.makedirs(d, exist_ok=True)
    for _ in range(min(per_dir, n - i)):
        with open(os.path.join(d, f"file{i:06d}.txt"), "wb") as f:
            f.write(os.urandom(rnd.randint(0, 1024)))
        i += 1
PY
  touch "$ctx.complete"
fi
printf 'FROM scratch\nCOPY . /ctx\n' >"$df"
# The fixed cost of any warm rebuild (process start, store open, plan, key
# lookups, export): the same Dockerfile over a one-file context, in its own store.
tiny=$W/ctx-tiny
mkdir -p "$tiny" && [ -f "$tiny/a.txt" ] || echo tiny >"$tiny/a.txt"

trash=
if [ -n "${COLD:-}" ] && [ -d "$root" ]; then
  trash=$W/trash.$$
  mv "$root" "$trash"
fi
cleanup() {
  grep -o " $root/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  [ -n "$trash" ] && rm -rf "$trash"
}
trap cleanup EXIT

median() { python3 -c "import sys,statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
maxof() { python3 -c "import sys; print(max(int(x) for x in sys.argv[1:]))" "$@"; }
# timed OUTFILE CMD...: runs CMD; prints "<seconds> <max RSS KiB> <CPU seconds>" (wall
# clock to the millisecond; peak RSS and user+system CPU of the process tree from
# wait4's rusage; CPU time is what to compare when other work loads the machine).
timed() {
  local out=$1; shift
  python3 - "$out" "$@" <<'PY'
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(f.fileno(), 1); os.dup2(f.fileno(), 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
print(f"{t1 - t0:.4f} {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime:.4f}")
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
build() { timed "$W/log.build" "$mk" --root "$root" build --progress plain -f "$df" -t ctxwalk:latest "$ctx"; }

echo "bench/context-walk: $(git -C "$src" log -1 --format='%h %s' 2>/dev/null | cut -c1-100)"
echo "bench/context-walk: build type $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$mk")/CMakeCache.txt" 2>/dev/null)"
echo "bench/context-walk: $(find "$ctx" -type f | wc -l) files, $(find "$ctx" -type d | wc -l) directories, $(du -sh "$ctx" | cut -f1) in $ctx"
echo "bench/context-walk: load at start:$(uptime | sed 's/.*load average:/ /')"

if [ ! -d "$root" ]; then
  r=$(build) || { echo "bench/context-walk: cold build failed:" >&2; tail -20 "$W/log.build" >&2; exit 1; }
  read -r s kb _ <<<"$r"; echo "bench/context-walk: cold build: $s s, $kb KiB peak RSS"
fi
# Warm the dentry/inode caches once for both sides.
find "$ctx" -printf '%s %T@\n' >/dev/null
build >/dev/null

tiny_build() { timed "$W/log.tiny" "$mk" --root "$root-tiny" build --progress plain -f "$df" -t ctxwalk-tiny:latest "$tiny"; }
tiny_build >/dev/null || { echo "bench/context-walk: tiny build failed:" >&2; tail -20 "$W/log.tiny" >&2; exit 1; }

warm_s=() warm_kb=() walk_s=() tiny_s=() warm_c=() walk_c=() tiny_c=()
for _ in $(seq 1 "$RUNS"); do
  r=$(tiny_build) || { echo "bench/context-walk: tiny rebuild failed" >&2; exit 1; }
  read -r s _ c <<<"$r"; tiny_s+=("$s") tiny_c+=("$c")
  r=$(build) || { echo "bench/context-walk: warm build failed:" >&2; tail -20 "$W/log.build" >&2; exit 1; }
  read -r s kb c <<<"$r"; warm_s+=("$s") warm_kb+=("$kb") warm_c+=("$c")
  grep -q '^#[0-9]* CACHED' "$W/log.build" || { echo "bench/context-walk: warm rebuild was not cached:" >&2; tail -20 "$W/log.build" >&2; exit 1; }
  r=$(timed /dev/null find "$ctx" -printf '%s %T@\n')
  read -r s _ c <<<"$r"; walk_s+=("$s") walk_c+=("$c")
done
W_S=$(median "${warm_s[@]}")
W_KB=$(maxof "${warm_kb[@]}")
F_S=$(median "${walk_s[@]}")
T_S=$(median "${tiny_s[@]}")
W_C=$(median "${warm_c[@]}")
F_C=$(median "${walk_c[@]}")
T_C=$(median "${tiny_c[@]}")
echo "bench/context-walk: warm rebuild samples: ${warm_s[*]} s (CPU ${warm_c[*]} s); peak RSS ${warm_kb[*]} KiB"
echo "bench/context-walk: stat walk samples:    ${walk_s[*]} s (CPU ${walk_c[*]} s)"
echo "bench/context-walk: 1-file rebuild samples: ${tiny_s[*]} s (CPU ${tiny_c[*]} s)"

# Edit one file: the COPY step must run again (not CACHED), and a second
# rebuild is cached again.
if [ "${EDIT:-1}" != 0 ]; then
  edited=$(find "$ctx" -name 'file000042.txt' | head -1)
  printf 'edit %s\n' "$RANDOM$RANDOM" >>"$edited"
  r=$(build) || { echo "bench/context-walk: edit rebuild failed:" >&2; tail -20 "$W/log.build" >&2; exit 1; }
  read -r E_S _ <<<"$r"
  if grep -q '^#[0-9]* CACHED' "$W/log.build"; then
    echo "bench/context-walk: FAIL: the edit of $edited was not seen (COPY cached)" >&2
    exit 1
  fi
  r=$(build)
  grep -q '^#[0-9]* CACHED' "$W/log.build" || { echo "bench/context-walk: FAIL: rebuild after the edit not cached" >&2; exit 1; }
  echo "bench/context-walk: edit-one-file rebuild: $E_S s (COPY re-run); next rebuild cached in ${r%% *} s"
fi
echo "bench/context-walk: load at end:$(uptime | sed 's/.*load average:/ /')"

printf '%-34s %10s %10s %12s\n' scenario seconds CPU_s peak_RSS_MB
printf '%-34s %10s %10s %12s\n' "warm rebuild (median of $RUNS)" "$W_S" "$W_C" "$((W_KB / 1024))"
printf '%-34s %10s %10s %12s\n' "stat walk: find -printf (median)" "$F_S" "$F_C" "-"
printf '%-34s %10s %10s %12s\n' "1-file context rebuild (median)" "$T_S" "$T_C" "-"
python3 -c "import sys; w,f,wc,fc=map(float,sys.argv[1:]); print(f'warm rebuild / stat walk: {w/f:.2f}x wall, {wc/fc:.2f}x CPU (target <= 1.25x); peak RSS target < 64 MB')" "$W_S" "$F_S" "$W_C" "$F_C"
