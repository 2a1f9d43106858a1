# Ported from testNamedInputContext in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
# The Go test passes the first build's result (state and image config) as
# frontend input "base"; the CLI way is the first build's image as docker-image://.
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
build_ok "the first build" -t input-base -f first/Dockerfile first
build_ok "context:base = the first build" --build-context base=docker-image://input-base -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/out "first
"
feq $OUT/d/foo "foo is bar
"
