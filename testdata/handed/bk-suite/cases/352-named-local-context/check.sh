# Ported from testNamedLocalContext in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
build_ok "context:base=local dir" --build-context base=basedir -o type=local,dest=$OUT/d "$CTX"
[ -s $OUT/d/out ] || fail "out is empty or missing"
fabsent $OUT/d/out2
