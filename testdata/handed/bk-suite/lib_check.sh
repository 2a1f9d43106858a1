# lib_check.sh - helpers for the build-check cases (3NN-check-*), sourced after lib.sh.
# Each Go sub-test becomes: a fresh context (new_ctx), its Dockerfile (df <<'EOF'),
# maybe a .dockerignore (dockerignore <<'EOF'), then the warnings `build --check`
# must report (checks_are) and those a normal build must report (build_checks_are),
# each expectation one "LINE|Rule|detail" line on stdin (nothing = no warning).
# Descriptions and URLs are verified by tools/checkwarn.py.

NCTX=0
# new_ctx : a new empty context directory; sets CTX
new_ctx() { NCTX=$((NCTX+1)); CTX=$OUT/ctx$NCTX; rm -rf "$CTX"; mkdir -p "$CTX"; }
# df : stdin → $CTX/Dockerfile
df() { cat > "$CTX/Dockerfile"; }
# dockerignore : stdin → $CTX/.dockerignore
dockerignore() { cat > "$CTX/.dockerignore"; }

_expect_list() {
  local want=$1 got=$2 what=$3
  if [ "$want" != "$got" ]; then
    fail "$what: warnings differ; want [$(printf '%s' "$want" | tr '\n' ';')] got [$(printf '%s' "$got" | tr '\n' ';')]"
  fi
}

# checks_are [BUILD ARGS...] : `mkimage build --check` of $CTX reports exactly the
# warnings on stdin; its status is 1 when there are warnings, else 0 (buildx).
# Sets CHECK_RC, CHECK_OUT (stdout file), LOG (stderr).
checks_are() {
  local want got
  want=$(grep -v '^$' || true)
  NB=$((NB+1)); LOG=$OUT/check$NB.err; CHECK_OUT=$OUT/check$NB.out
  "$B" build --check --progress plain "$@" "$CTX" > "$CHECK_OUT" 2> "$LOG"
  CHECK_RC=$?
  got=$(python3 "$BK_TOOLS/checkwarn.py" check "$CHECK_OUT") || fail "harness: checkwarn.py failed"
  _expect_list "$want" "$got" "check $NB (ctx$NCTX)"
  if [ -z "$want" ] && [ "${CHECK_ERR:-}" = "" ]; then
    [ "$CHECK_RC" = 0 ] || fail "check $NB (ctx$NCTX): exit status $CHECK_RC without warnings: $(tail -n 2 "$LOG" | tr '\n' ' ')"
    grep -qF "Check complete, no warnings found." "$CHECK_OUT" || fail "check $NB: no \"Check complete, no warnings found.\""
  elif [ -n "$want" ]; then
    [ "$CHECK_RC" = 1 ] || fail "check $NB (ctx$NCTX): exit status $CHECK_RC with warnings, want 1"
    local n; n=$(printf '%s\n' "$want" | wc -l)
    if [ "$n" = 1 ]; then grep -qF "Check complete, 1 warning has been found!" "$CHECK_OUT" || fail "check $NB: no count line"
    else grep -qF "Check complete, $n warnings have been found!" "$CHECK_OUT" || fail "check $NB: no count line for $n"; fi
  fi
}

# build_checks_are [BUILD ARGS...] : a normal build of $CTX prints exactly the
# warnings on stdin in its summary. Sets BUILD_RC; the output is $LOG.
build_checks_are() {
  local want got
  want=$(grep -v '^$' || true)
  mk_build "$@" "$CTX"; BUILD_RC=$?
  got=$(python3 "$BK_TOOLS/checkwarn.py" build "$LOG") || fail "harness: checkwarn.py failed"
  _expect_list "$want" "$got" "build $NB (ctx$NCTX)"
  if [ -n "$want" ]; then
    local n; n=$(printf '%s\n' "$want" | wc -l)
    if [ "$n" = 1 ]; then log_has " 1 warning found:" "build $NB"; else log_has " $n warnings found:" "build $NB"; fi
  fi
}
# build_ok_now : the last build_checks_are succeeded
build_ok_now() { [ "$BUILD_RC" = 0 ] || fail "build $NB (ctx$NCTX) failed: $(errsummary)"; }
# build_failed_with SUBSTRING : the last build failed and printed SUBSTRING
build_failed_with() {
  [ "$BUILD_RC" != 0 ] || fail "build $NB (ctx$NCTX) succeeded, want error \"$1\""
  grep -qF -- "$1" "$LOG" || fail "build $NB (ctx$NCTX): error lacks \"$1\"; got: $(errsummary)"
}
# check_failed_with SUBSTRING : the last checks_are exited 1 and printed SUBSTRING on stderr
check_failed_with() {
  [ "$CHECK_RC" = 1 ] || fail "check $NB (ctx$NCTX): exit status $CHECK_RC, want 1"
  grep -qF -- "$1" "$LOG" || fail "check $NB (ctx$NCTX): stderr lacks \"$1\": $(tail -n 3 "$LOG" | tr '\n' ' ')"
}
