# Ported from testNamedImageContextScratch in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
build_ok "context:busybox=docker-image://scratch" --build-context busybox=docker-image://scratch -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/out "hello world!
"
