# Ported from testNamedImageContext in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
# No registry here: "alpine" is an image with /etc/alpine-release built into the
# case's store, and the pushed image of the Go test is a tag in the store.
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
build_ok "context:busybox=docker-image://alpine" --build-context busybox=docker-image://alpine -o type=local,dest=$OUT/d1 "$CTX"
[ -s $OUT/d1/out ] || fail "out is empty or missing: the busybox base was not replaced by alpine"
build_ok "image with custom envs" -t localhost:5000/buildkit/testnamedimagecontext:latest -f envs/Dockerfile envs
T=localhost:5000/buildkit/testnamedimagecontext:latest
build_ok "context:busybox=docker-image://TARGET" --build-context busybox=docker-image://$T -o type=local,dest=$OUT/d2 -f derived/Dockerfile derived
[ -s $OUT/d2/out ] || fail "out is empty or missing"
feq $OUT/d2/env_foobar "FOOBAR=foobar
"
fhas $OUT/d2/env_path "/foobar:"
# replacing a stage that is based on another stage (moby/buildkit#5578)
build_ok "context:base replaces a stage based on a stage" --build-context base=docker-image://$T -o type=local,dest=$OUT/d3 -f parent/Dockerfile parent
