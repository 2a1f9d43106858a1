# Ported from testLocalCustomSessionID in moby/buildkit frontend/dockerfile/dockerfile_copy_test.go
. "$BK_LIB"
# The Go test serves the Dockerfile, the context and "basedir" from three
# directories of one client session; here: -f, the context, --build-context.
build_ok "context:base = a directory" --build-context base=basedir -f df/Dockerfile -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/out1 contents1
feq $OUT/d/out2 contents2
