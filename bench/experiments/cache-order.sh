#!/usr/bin/env bash
# bench/experiments/cache-order.sh: the ordering lesson of testdata/cache-order
# as a picture. Replays a scripted edit history (the COMMITS below: source
# edits, a new file, dependency changes, a no-op) on a copy of the app, builds
# every commit with both Dockerfiles (Dockerfile.naive: `COPY . .` before the
# install; Dockerfile.ordered: the manifest first), each in its own store, then
# reads the build history (`mkimage builds export --format csv`, docs/history.md)
# and plots the steps CACHED and run and the build time per commit with gnuplot.
#
#   bench/experiments/cache-order.sh [MKIMAGE_BINARY] [OUT.svg]
#     default build/mkimage and docs/images/cache-order.svg; needs root (runc),
#     /bin/busybox; installs gnuplot-nox with apt-get when gnuplot is missing.
#   KEEP=1 keeps the scratch directory (the CSVs and the data file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mk=$(realpath "${1:-$src/build/mkimage}")
out=$(realpath -m "${2:-$src/docs/images/cache-order.svg}")
[ "$(id -u)" = 0 ] || { echo "cache-order: needs root (RUN steps run under runc)" >&2; exit 1; }
[ -x "$mk" ] || { echo "cache-order: $mk is not built" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "cache-order: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
if ! command -v gnuplot >/dev/null; then
  echo "cache-order: installing gnuplot-nox" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi

W=$(mktemp -d /tmp/mkimage-cache-order.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "cache-order: scratch dir $W" >&2; else trap 'rm -rf "$W"' EXIT; fi

# The edit history: "message|shell command run in the app directory".
COMMITS=(
  "initial|true"
  "edit src/util.sh|echo 'echo util v2' >>src/util.sh"
  "edit src/main.sh|echo 'echo main v2' >>src/main.sh"
  "add src/extra.sh|echo 'echo extra' >src/extra.sh"
  "no change|true"
  "add a dependency|echo 'lodash 4.17.21' >>deps.txt"
  "edit src/util.sh|echo 'echo util v3' >>src/util.sh"
  "edit README.md|echo 'More notes.' >>README.md"
  "edit src/main.sh|echo 'echo main v3' >>src/main.sh"
  "remove a dependency|sed -i '\$d' deps.txt"
  "edit src/extra.sh|echo 'echo extra v2' >>src/extra.sh"
  "edit src/util.sh|echo 'echo util v4' >>src/util.sh"
)

for df in naive ordered; do
  rm -rf "$W/app"
  cp -a "$src/testdata/cache-order" "$W/app"
  cp /bin/busybox "$W/app/busybox"
  export MKIMAGE_ROOT=$W/root-$df
  n=0
  for c in "${COMMITS[@]}"; do
    n=$((n + 1))
    (cd "$W/app" && eval "${c#*|}")
    echo "cache-order: $df commit $n: ${c%%|*}" >&2
    "$mk" build --progress plain -f "$W/app/Dockerfile.$df" -t "order-$df:$n" "$W/app" >"$W/build-$df-$n.log" 2>&1 ||
      { tail -n 20 "$W/build-$df-$n.log" >&2; exit 1; }
  done
  "$mk" builds export --format csv >"$W/$df.csv"
  "$mk" builds ls --format json >"$W/$df.builds.json"
done

# One data row per commit: n naive_hits naive_misses naive_s ordered_hits ordered_misses ordered_s "message".
# Hits and misses count the Dockerfile's steps (not BuildKit's [internal] ones);
# the time is the build's wall time.
python3 - "$W" "${#COMMITS[@]}" "${COMMITS[@]}" >"$W/data.txt" <<'PY'
import csv, json, sys
w, n, commits = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cols = {}
for df in ("naive", "ordered"):
    rows = list(csv.DictReader(open(f"{w}/{df}.csv")))
    order = []
    for r in rows:
        if r["build_id"] not in order:
            order.append(r["build_id"])
    assert len(order) == n, (df, len(order), n)
    dur = {}
    for line in open(f"{w}/{df}.builds.json"):
        j = json.loads(line)
        dur[j["ref"]] = j["duration_ms"] / 1000.0
    per = []
    for b in order:
        steps = [r for r in rows if r["build_id"] == b and r["label"] != "[internal]"]
        hits = sum(r["outcome"] in ("CACHED", "remote-cached") for r in steps)
        misses = sum(r["outcome"] == "run" for r in steps)
        per.append((hits, misses, dur[b]))
    cols[df] = per
print("# commit naive_hits naive_misses naive_s ordered_hits ordered_misses ordered_s message")
for i in range(n):
    a, b = cols["naive"][i], cols["ordered"][i]
    msg = commits[i].split("|", 1)[0]
    print(f'{i+1} {a[0]} {a[1]} {a[2]:.2f} {b[0]} {b[1]} {b[2]:.2f} "{msg}"')
PY

# The commit list under the plots (two lines).
legend1= legend2=
for i in "${!COMMITS[@]}"; do
  item="$((i + 1)) ${COMMITS[$i]%%|*}"
  if [ "$i" -lt $(((${#COMMITS[@]} + 1) / 2)) ]; then legend1+="${legend1:+   }$item"; else legend2+="${legend2:+   }$item"; fi
done
mkdir -p "$(dirname "$out")"
gnuplot <<GP
set terminal svg size 960,640 dynamic font "sans,12" background rgb "white"
set output "$out.tmp"
set multiplot layout 2,1 title "testdata/cache-order: ${#COMMITS[@]} commits built with each Dockerfile (mkimage builds export)"
set datafile separator whitespace
set style data histograms
set style histogram rowstacked gap 1
set style fill solid 0.85 border -1
set boxwidth 0.4
set key outside right top
set ylabel "steps"
set bmargin 2
set yrange [0:7.5]
set xrange [0.4:${#COMMITS[@]}.6]
set xtics 1
set grid ytics
set title "steps CACHED and run per commit (left bar naive, right bar ordered)"
plot "$W/data.txt" using (\$1-0.21):(\$2+\$3) with boxes lc rgb "#d62728" title "naive: run", \
     "" using (\$1-0.21):2 with boxes lc rgb "#1f77b4" title "naive: CACHED", \
     "" using (\$1+0.21):(\$5+\$6) with boxes lc rgb "#ff9896" title "ordered: run", \
     "" using (\$1+0.21):5 with boxes lc rgb "#aec7e8" title "ordered: CACHED"
set title "build time per commit"
set ylabel "seconds"
set xlabel "commit"
set yrange [0:*]
set bmargin 6
set label 1 "commits: $legend1" at screen 0.02, screen 0.06 left font "sans,10"
set label 2 "$legend2" at screen 0.02, screen 0.03 left font "sans,10"
plot "$W/data.txt" using 1:4 with linespoints lw 2 pt 7 lc rgb "#d62728" title "naive", \
     "" using 1:7 with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "ordered"
unset multiplot
GP
mv "$out.tmp" "$out"
cat "$W/data.txt"
echo "cache-order: wrote $out" >&2
