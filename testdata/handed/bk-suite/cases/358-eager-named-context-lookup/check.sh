# Ported from testEagerNamedContextLookup in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
build_ok "unused named contexts are not loaded" \
  --build-context notused=docker-image://docker.io/library/nosuchimage:latest \
  --build-context busybox=docker-image://docker.io/library/dontexist:latest \
  -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/foo "base
"
