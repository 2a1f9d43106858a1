#!/usr/bin/env bash
# Miss reasons (docs/cache.md "Why a step ran"): a small project is built,
# then changed once per kind of cause (edit, add, remove, chmod a file, change an
# ARG, change the base image, edit an instruction, --no-cache,
# --no-cache-filter, a cached layer removed); each rebuild must name the cause by its exact text in
# --progress plain ("#N MISS: …"), in --progress json (the step events'
# miss_reason) and in `mkimage builds show`, and a dry run before it must
# predict that text (docs/dry-run.md). Base images are made locally.
. "$(dirname "$0")/build_helpers.inc"

# The base image, built here (no network): busybox, plus a marker in version 2.
ctx base
cat >base/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
DF
b base1 -t localbase:1 --metadata-file base1.json base

mkdir -p app/src
printf '{"name":"app","version":"1"}\n' >app/src/package.json
printf '#!/bin/sh\necho run\n' >app/src/run.sh
chmod 0644 app/src/run.sh
echo a >app/src/a.js
echo z >app/src/z
cat >app/Dockerfile <<'DF'
FROM localbase:1 AS app
COPY src/ /app/
ARG VERSION=1.0
RUN echo "version $VERSION" >/version && cat /app/package.json
RUN echo done
DF

COPY_STEP='COPY src/ /app/'
RUN1='RUN echo "version $VERSION" >/version && cat /app/package.json'
RUN2='RUN echo done'

# plain_reason LOG STEP: the MISS line of STEP in a --progress plain log ("CACHED" for a hit).
plain_reason() {
  python3 - "$1" "$2" <<'PY'
import re, sys
log, step = open(sys.argv[1]).read().splitlines(), sys.argv[2]
num = None
for line in log:
    m = re.match(r"#(\d+) \[[^\]]*\] (.*)$", line)
    if m and m.group(2) == step:
        num = m.group(1)
if num is None:
    sys.exit("no step " + step)
for line in log:
    if line == "#%s CACHED" % num:
        print("CACHED"); sys.exit(0)
    if line.startswith("#%s MISS: " % num):
        print(line[len("#%s MISS: " % num):]); sys.exit(0)
sys.exit("step %s (#%s) has neither CACHED nor MISS" % (step, num))
PY
}
# json_reason LOG STEP: miss_reason of STEP's "started" event ("CACHED" when it has a "cached" event).
json_reason() {
  python3 - "$1" "$2" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
step = [e for e in evs if e.get("name") == sys.argv[2] and e["event"] in ("started", "cached")]
if not step:
    sys.exit("no step " + sys.argv[2])
if any(e["event"] == "cached" for e in step):
    print("CACHED")
else:
    print(step[-1].get("miss_reason", "(none)"))
PY
}
# show_reason STEP: the step's miss_reason in `builds show --format json` and in the table of the newest build.
show_reason() {
  "$MKIMAGE" builds show --format json >show.json || fail "builds show --format json failed"
  "$MKIMAGE" builds show >show.txt || fail "builds show failed"
  python3 - "$1" <<'PY'
import json, sys
j = json.load(open("show.json"))
s = [x for x in j["steps"] if x["name"] == sys.argv[1]]
if not s:
    sys.exit("builds show: no step " + sys.argv[1])
r = s[-1]["miss_reason"] if s[-1]["outcome"] != "CACHED" else "CACHED"
table = open("show.txt").read()
if r != "CACHED" and r not in table:
    sys.exit("builds show table lacks the reason " + r)
print(r)
PY
}

# dry_reason LOG STEP: what a --dry-run --progress json log predicts for STEP:
# "CACHED", the reason of a "miss", or "would run".
dry_reason() {
  python3 - "$1" "$2" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
p = [e for e in evs if e.get("event") == "predicted" and e.get("name") == sys.argv[2]]
if not p:
    sys.exit("no prediction for " + sys.argv[2])
o = p[-1]["outcome"]
print({"cached": "CACHED", "would_run": "would run"}.get(o, p[-1]["reason"] if o == "miss" else o))
PY
}

# check LABEL STEP REASON [STEP REASON…] -- BUILD ARGS: a dry run first (it must
# predict REASON for a STEP that is the first miss of its chain, CACHED for a
# hit, "would run" after a miss), then builds twice from the same history: with
# --progress plain on a copy of the root, then with --progress json on the root
# itself; each STEP must show REASON (or CACHED) in both, and `builds show` of
# the json build must show it too.
check() {
  local label=$1; shift
  local -a want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  "$MKIMAGE" build --dry-run --progress json "$@" >"dry.$label" 2>"dryerr.$label" ||
    { tail -n 30 "dryerr.$label"; fail "dry run $label failed"; }
  rm -rf root.plain && cp -a "$MKIMAGE_ROOT" root.plain
  MKIMAGE_ROOT=$W/root.plain "$MKIMAGE" build --progress plain "$@" >"log.$label" 2>&1 ||
    { tail -n 30 "log.$label"; fail "build $label (plain) failed"; }
  "$MKIMAGE" build --progress json "$@" >"json.$label" 2>"err.$label" ||
    { tail -n 30 "err.$label"; fail "build $label (json) failed"; }
  local i got
  for ((i = 0; i < ${#want[@]}; i += 2)); do
    got=$(plain_reason "log.$label" "${want[i]}") || fail "$label: plain: $got"
    [ "$got" = "${want[i+1]}" ] || fail "$label: plain: step '${want[i]}': '$got', want '${want[i+1]}'"
    got=$(json_reason "json.$label" "${want[i]}") || fail "$label: json: $got"
    [ "$got" = "${want[i+1]}" ] || fail "$label: json: step '${want[i]}': '$got', want '${want[i+1]}'"
    got=$(show_reason "${want[i]}") || fail "$label: builds show: $got"
    [ "$got" = "${want[i+1]}" ] || fail "$label: builds show: step '${want[i]}': '$got', want '${want[i+1]}'"
    got=$(dry_reason "dry.$label" "${want[i]}") || fail "$label: dry run: $got"
    # After a miss the dry run says "would run" (the build then says "parent step ran", or why a first build runs it).
    if [ "$got" = "would run" ]; then
      [ "${want[i+1]}" != CACHED ] || fail "$label: dry run: step '${want[i]}': would run, want CACHED"
    else
      [ "$got" = "${want[i+1]}" ] || fail "$label: dry run: step '${want[i]}': '$got', want '${want[i+1]}'"
    fi
  done
  echo "$label: ok"
}

FIRST='no earlier build of this step'
FROM_REF=localbase:1
check first "$COPY_STEP" "$FIRST" "$RUN1" "$FIRST" "$RUN2" "$FIRST" -- -t app app
check unchanged "$COPY_STEP" CACHED "$RUN1" CACHED "$RUN2" CACHED -- -t app app

printf '{"name":"app","version":"2"}\n' >app/src/package.json
check edit "$COPY_STEP" 'package.json changed' "$RUN1" 'parent step ran' "$RUN2" 'parent step ran' -- -t app app

echo x >app/src/x.js
echo y >app/src/y.js
check add "$COPY_STEP" '2 files added: x.js, y.js' "$RUN1" 'parent step ran' -- -t app app

rm app/src/z
check remove "$COPY_STEP" '1 file removed: z' -- -t app app

chmod 0755 app/src/run.sh
check chmod "$COPY_STEP" 'mode of run.sh changed' -- -t app app

check arg "$COPY_STEP" CACHED "$RUN1" 'ARG VERSION changed: 1.0 → 1.1' "$RUN2" 'parent step ran' -- \
  --build-arg VERSION=1.1 -t app app

# A second base image under the same tag: the first step names both digests.
echo marker >base/marker
printf 'COPY marker /marker\n' >>base/Dockerfile
b base2 -t localbase:1 --metadata-file base2.json base
d2=$(python3 -c 'import json; print(json.load(open("base2.json"))["containerimage.digest"])')
d1=$(python3 -c 'import json; print(json.load(open("base1.json"))["containerimage.digest"])')
[ "$d1" != "$d2" ] || fail "the two base images have one digest"
short() { echo "${1:0:19}…"; }
check base "$COPY_STEP" "base image changed: $FROM_REF $(short "$d1") → $(short "$d2")" "$RUN1" 'parent step ran' -- \
  --build-arg VERSION=1.1 -t app app

sed -i 's/^RUN echo done$/RUN echo finished/' app/Dockerfile
check instruction "$RUN1" CACHED 'RUN echo finished' 'instruction changed' -- --build-arg VERSION=1.1 -t app app

check nocache "$COPY_STEP" '--no-cache' "$RUN1" '--no-cache' -- --no-cache --build-arg VERSION=1.1 -t app app
check nocachefilter "$COPY_STEP" '--no-cache-filter' 'RUN echo finished' '--no-cache-filter' -- \
  --no-cache-filter app --build-arg VERSION=1.1 -t app app

# A cache entry whose layer blob is gone: the step runs again, and says so; the
# step after it keeps its key (keys do not depend on results): a hit.
python3 - "$MKIMAGE_ROOT" "json.nocachefilter" "$RUN1" <<'PY' || fail "could not remove the layer of '$RUN1'"
import json, os, sqlite3, sys
root, log, step = sys.argv[1:]
key = [json.loads(l) for l in open(log) if l.startswith("{")]
key = [e["cache_key"] for e in key if e.get("name") == step and e.get("cache_key")][-1]
db = sqlite3.connect(os.path.join(root, "index.db"))
diff_id = json.loads(db.execute("SELECT result FROM cache WHERE key = ?", (key,)).fetchone()[0])["diff_id"]
blob = db.execute("SELECT blob FROM layers WHERE diff_id = ?", (diff_id,)).fetchone()[0]
os.remove(os.path.join(root, "blobs", *blob.split(":")))
PY
check layergone "$COPY_STEP" CACHED "$RUN1" 'cached layer was removed' 'RUN echo finished' CACHED -- \
  --build-arg VERSION=1.1 -t app app

# The history's export carries the reasons too.
"$MKIMAGE" builds export --format csv >steps.csv || fail "builds export failed"
grep -qF 'mode of run.sh changed' steps.csv || fail "builds export lacks a miss reason"
pass
