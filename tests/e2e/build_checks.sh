#!/usr/bin/env bash
# Build checks end to end (docs/checks.md): `build --check` (buildx's report on
# stdout, exit status 1 with warnings, 0 without, nothing built), the summary
# after a build, `#1 WARN:` in plain progress, `check` events in JSON progress,
# `error=true`, BUILDKIT_DOCKERFILE_CHECK, --target, -q.
. "$(dirname "$0")/build_helpers.inc"
mkdir -p c
printf 'x\n' >c/file
cat >c/Dockerfile <<'DF'
FROM scratch as base
COPY file /file

FROM scratch AS other
ENV k v
DF

# --check: every stage, the report, status 1, no image
"$MKIMAGE" build --check -t checks:no c >out.1 2>err.1; rc=$?
[ "$rc" = 1 ] || fail "--check with warnings exited $rc, want 1"
want=$(cat <<'W'
Check complete, 2 warnings have been found!

WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/
'as' and 'FROM' keywords' casing do not match
Dockerfile:1
--------------------
   1 | >>> FROM scratch as base
   2 |     COPY file /file
   3 |     
--------------------

WARNING: LegacyKeyValueFormat - https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/
"ENV key=value" should be used instead of legacy "ENV key value" format
Dockerfile:5
--------------------
   3 |     
   4 |     FROM scratch AS other
   5 | >>> ENV k v
   6 |     
--------------------
W
)
[ "$(cat out.1)" = "$want" ] || fail "--check report differs: $(cat out.1)"
"$MKIMAGE" images 2>/dev/null | grep -q '^checks ' && fail "--check built an image"

"$MKIMAGE" build --call check c >out.1b 2>/dev/null && fail "--call check: status 0"
cmp -s out.1 out.1b || fail "--call check differs from --check: $(cat out.1b)"
"$MKIMAGE" build --call outline c >/dev/null 2>&1; [ $? = 2 ] || fail "--call outline is not a usage error"

# --target: only the stages the target needs
"$MKIMAGE" build --check --target base c >out.2 2>err.2 && fail "--check --target base: status 0 with a warning"
grep -q 'Check complete, 1 warning has been found!' out.2 || fail "--check --target base: $(cat out.2)"

# no warning: status 0
mkdir -p clean && printf 'FROM scratch AS base\nCOPY Dockerfile /d\n' >clean/Dockerfile
"$MKIMAGE" build --check clean >out.3 2>err.3 || fail "--check without warnings failed: $(cat err.3)"
[ "$(cat out.3)" = "Check complete, no warnings found." ] || fail "clean --check: $(cat out.3)"

# a build of stage base: only the stages it runs are walked, WARN line in plain progress, buildx's summary at the end
b 4 -t checks:one --target base c
log_has 4 "#1 WARN: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)"
log_has 4 ' 1 warning found:'
log_has 4 ' - FromAsCasing: '"'"'as'"'"' and '"'"'FROM'"'"' keywords'"'"' casing do not match (line 1)'
log_has 4 'More info: https://docs.docker.com/go/dockerfile/rule/from-as-casing/'
grep -q LegacyKeyValueFormat log.4 && fail "a stage the build skips was checked"
"$MKIMAGE" build -q --target base c >log.5 2>&1 || fail "-q build failed"
grep -q 'warning' log.5 && fail "-q printed the warnings: $(cat log.5)"

# JSON progress: one check event per warning
"$MKIMAGE" build --progress json --target base c >log.6 2>&1 || fail "json build failed"
python3 - log.6 <<'PY' || fail "json check events: $(grep check log.6)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
checks = [e for e in ev if e["event"] == "check"]
assert len(checks) == 1, checks
c = checks[0]
assert c["rule"] == "FromAsCasing" and c["line"] == 1 and c["end_line"] == 1, c
assert c["url"] == "https://docs.docker.com/go/dockerfile/rule/from-as-casing/", c
assert c["description"] == "The 'as' keyword should match the case of the 'from' keyword", c
assert ev[-1]["event"] == "result", ev[-1]
PY
"$MKIMAGE" build --check --progress json c >log.7 2>&1 && fail "json --check: status 0"
tail -n 1 log.7 | grep -q '"event":"checked"' || fail "json --check: no checked event: $(tail -n 1 log.7)"
grep -q '"warnings":2' log.7 || fail "json --check: $(tail -n 1 log.7)"

# error=true (build arg, replacing the directive): the build fails before any step
b_fails 8 --build-arg 'BUILDKIT_DOCKERFILE_CHECK=skip=LegacyKeyValueFormat;error=true' -t checks:err --target base c
log_has 8 'lint violation found for rules: FromAsCasing'
grep -qE '^#[0-9]+ \[base ' log.8 && fail "error=true: a step ran: $(grep -E '^#[0-9]+ \[base ' log.8)"
b 9 --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all c
grep -q 'warning found' log.9 && fail "skip=all: $(grep -A2 'warning found' log.9)"
b_fails 10 --build-arg BUILDKIT_DOCKERFILE_CHECK=bogus c
log_has 10 'failed to parse BUILDKIT_DOCKERFILE_CHECK: invalid check option "bogus"'
printf '# check=error=yes\nFROM scratch\n' >clean/Dockerfile
b_fails 11 clean
log_has 11 'Dockerfile:1:1: failed to parse check options: failed to parse check option "error=yes"'
pass
