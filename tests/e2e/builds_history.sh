#!/usr/bin/env bash
# Build history (docs/history.md): every build is recorded with its steps'
# outcomes and full logs; `builds ls|show|logs|export|prune`, and
# `build --metadata-file` writes buildx's JSON.
. "$(dirname "$0")/build_helpers.inc"
ctx app
# A RUN writing 100,000 numbered lines (> 64 KiB): the log keeps every line.
cat >app/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG GREETING=hi
RUN seq 1 100000 && echo "last line $GREETING"
DF
export HIST_SECRET=s3cr3t-value-5831
b one --build-arg GREETING=hello --secret id=tok,env=HIST_SECRET -t hist:1 --metadata-file meta.json app
b two --build-arg GREETING=hello -t hist:1 app

"$MKIMAGE" builds ls >ls.txt || fail "builds ls failed"
head -1 ls.txt | grep -q '^BUILD ID  *NAME  *STATUS  *CREATED AT  *DURATION' || fail "builds ls header: $(head -1 ls.txt)"
[ "$(grep -c Completed ls.txt)" = 2 ] || fail "builds ls: want 2 completed builds: $(cat ls.txt)"
"$MKIMAGE" builds ls --format json >ls.json || fail "builds ls --format json failed"
[ "$(wc -l <ls.json)" = 2 ] || fail "builds ls --format json: want 2 lines"
new=$(python3 -c 'import json,sys; print(json.loads(open("ls.json").readline())["ref"])')
old=$(python3 -c 'import json,sys; print(json.loads(open("ls.json").readlines()[1])["ref"])')

# The second build: the RUN steps are CACHED.
"$MKIMAGE" builds show "$new" >show.txt || fail "builds show failed"
grep -q 'Status:  *Completed' show.txt || fail "show: no Completed status: $(cat show.txt)"
grep -Eq '#[0-9]+  *CACHED .*RUN seq 1 100000' show.txt || fail "show: the RUN is not CACHED: $(cat show.txt)"
grep -q 'Build Arg:  *GREETING=hello' show.txt || fail "show: build arg missing"
"$MKIMAGE" builds show --format json "$old" >old.json || fail "builds show --format json failed"
python3 - "$W" <<'PY' || fail "builds show --format json of the first build"
import json, sys
j = json.load(open("old.json"))
assert j["status"] == "Completed", j["status"]
assert j["secrets"] == ["tok"], j["secrets"]          # the id only
assert "tok" not in j["build_args"]
assert j["dockerfile_digest"].startswith("sha256:")
runs = [s for s in j["steps"] if s["name"].startswith("RUN seq")]
assert runs and runs[0]["outcome"] == "run" and runs[0]["cache_key"].startswith("sha256:"), runs
assert runs[0]["log_bytes"] > 64 * 1024, runs
PY
# No secret value anywhere in the index or the logs.
if grep -rqF s3cr3t-value-5831 "$MKIMAGE_ROOT/history" "$MKIMAGE_ROOT"/index.db*; then fail "a secret value is in the build history"; fi

# The full log of the RUN: every one of the 100,000 lines.
step=$(python3 -c 'import json; print([s["number"] for s in json.load(open("old.json"))["steps"] if s["name"].startswith("RUN seq")][0])')
"$MKIMAGE" builds logs "$old" "$step" >run.log || fail "builds logs ID STEP failed"
[ "$(wc -l <run.log)" = 100001 ] || fail "builds logs: $(wc -l <run.log) lines, want 100001"
[ "$(head -1 run.log)" = 1 ] && [ "$(sed -n 100000p run.log)" = 100000 ] || fail "builds logs: the lines are not 1..100000"
grep -qx 'last line hello' run.log || fail "builds logs: the last line is missing"
"$MKIMAGE" builds logs "$old" >all.log || fail "builds logs ID failed"
grep -q "^#$step 99999\$" all.log || fail "builds logs ID: the RUN's lines are not prefixed #$step"
if "$MKIMAGE" builds logs "$old" 999 >/dev/null 2>err.txt; then fail "builds logs of a missing step succeeded"; fi
if "$MKIMAGE" builds show nosuchbuild >/dev/null 2>err.txt; then fail "builds show of a missing build succeeded"; fi
grep -q 'no build found' err.txt || fail "builds show missing: $(cat err.txt)"

# Export: one row per step of both builds.
"$MKIMAGE" builds export --format csv >steps.csv || fail "builds export --format csv failed"
head -1 steps.csv | grep -q '^build_id,time,status,step,label,name,outcome,duration_ms,cache_key,miss_reason$' || fail "csv header: $(head -1 steps.csv)"
grep -q "^$old,.*RUN seq 1 100000.*,run,[0-9]*,sha256:" steps.csv || fail "csv: no run row for the first build"
grep -q "^$new,.*RUN seq 1 100000.*,CACHED,0,sha256:" steps.csv || fail "csv: no CACHED row for the second build"
"$MKIMAGE" builds export --format json -o steps.json || fail "builds export --format json failed"
python3 -c 'import json; r=json.load(open("steps.json")); assert len(r) == '"$(($(wc -l <steps.csv) - 1))"', len(r)' || fail "json and csv row counts differ"

# --metadata-file: buildx's keys, matching the stored image (`images --no-trunc`'s
# IMAGE ID, inspect's Id and Descriptor).
"$MKIMAGE" images --no-trunc hist >images.txt
"$MKIMAGE" inspect hist:1 >inspect.json || fail "inspect failed"
python3 - <<'PY' || fail "metadata file: $(cat meta.json)"
import json
m = json.load(open("meta.json"))
images = open("images.txt").read()
img = json.load(open("inspect.json"))[0]
assert m["containerimage.config.digest"] == img["Id"], m
assert m["containerimage.config.digest"] in images, images
assert m["containerimage.digest"] == img["Descriptor"]["digest"], (m, img["Descriptor"])
d = m["containerimage.descriptor"]
assert d == img["Descriptor"] or (d["digest"], d["size"], d["mediaType"]) == (img["Descriptor"]["digest"], img["Descriptor"]["size"], img["Descriptor"]["mediaType"]), (d, img["Descriptor"])
assert m["image.name"] == "docker.io/library/hist:1", m["image.name"]
assert m["buildx.build.ref"] and len(m["buildx.build.ref"]) == 20, m
outcomes = {s["name"].split("] ", 1)[-1]: s["outcome"] for s in m["mkimage.build.steps"]}
assert outcomes.get("RUN seq 1 100000 && echo \"last line $GREETING\"") == "run", outcomes
PY
ref=$(python3 -c 'import json; print(json.load(open("meta.json"))["buildx.build.ref"])')
[ "$ref" = "$old" ] || fail "buildx.build.ref is $ref, want the first build $old"

# A failing build is recorded with its error.
cat >app/Dockerfile.bad <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"]
DF
b_fails bad -f app/Dockerfile.bad app
"$MKIMAGE" builds show --format json >bad.json || fail "builds show (newest) failed"
python3 - <<'PY' || fail "failed build record: $(cat bad.json)"
import json
j = json.load(open("bad.json"))
assert j["status"] == "Error", j["status"]
assert "exit code: 3" in j["error"] or "exit code 3" in j["error"], j["error"]
assert [s for s in j["steps"] if s["outcome"] == "error"], j["steps"]
PY
bad=$(python3 -c 'import json; print(json.load(open("bad.json"))["ref"])')
"$MKIMAGE" builds logs "$bad" | grep -q 'about to fail' || fail "builds logs of the failed build lacks its output"
[ "$("$MKIMAGE" builds ls | grep -c Error)" = 1 ] || fail "builds ls: want 1 Error build"

# Prune: keep the newest; the others' logs go too.
"$MKIMAGE" builds prune --keep 1 >prune.txt || fail "builds prune failed"
grep -q 'Total: 2 builds removed' prune.txt || fail "prune: $(cat prune.txt)"
[ "$(tail -n +2 <("$MKIMAGE" builds ls) | wc -l)" = 1 ] || fail "builds ls after prune --keep 1"
[ ! -e "$MKIMAGE_ROOT/history/$old" ] || fail "the pruned build's logs are still there"
[ -d "$MKIMAGE_ROOT/history/$bad" ] || fail "the kept build's logs are gone"

# A build whose process is killed: running while it runs, an interrupted error after.
cat >app/Dockerfile.slow <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo slow started; sleep 60"]
DF
"$MKIMAGE" build --progress plain -f app/Dockerfile.slow app >slow.log 2>&1 &
slow_pid=$!
for _ in $(seq 1 100); do grep -q 'slow started' slow.log && break; sleep 0.1; done
grep -q 'slow started' slow.log || { kill -9 "$slow_pid"; fail "the slow build did not start: $(cat slow.log)"; }
"$MKIMAGE" builds show --format json >slow.json || fail "builds show (running) failed"
python3 -c 'import json,sys; j=json.load(open("slow.json")); sys.exit(0 if j["status"] == "Running" else 1)' \
  || { kill -9 "$slow_pid"; fail "a running build reads as $(cat slow.json)"; }
kill -9 "$slow_pid"; wait "$slow_pid" 2>/dev/null
"$MKIMAGE" builds show --format json >slow.json || fail "builds show (killed) failed"
python3 - <<'PY' || fail "killed build record: $(cat slow.json)"
import json
j = json.load(open("slow.json"))
assert j["status"] == "Error", j["status"]
assert j["error"].startswith("interrupted: the build's process ended"), j["error"]
PY
slow=$(python3 -c 'import json; print(json.load(open("slow.json"))["ref"])')
"$MKIMAGE" builds logs "$slow" | grep -q 'slow started' || fail "builds logs of the killed build lacks its output"
[ "$("$MKIMAGE" builds ls | grep -c Error)" = 2 ] || fail "builds ls: want 2 Error builds (the kept failed one and the killed one)"
# Prune takes it like any finished build (a running one it keeps).
"$MKIMAGE" builds prune >prune.txt || fail "builds prune failed"
grep -q "Deleted build $slow" prune.txt || fail "prune kept the killed build: $(cat prune.txt)"
[ ! -e "$MKIMAGE_ROOT/history/$slow" ] || fail "the killed build's logs are still there"

pass
