# Ported from testOnBuildNamedContext in moby/buildkit frontend/dockerfile/dockerfile_onbuild_test.go
. "$BK_LIB"
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
build_ok "an image whose ONBUILD copies from otherstage" -o type=oci,dest=$OUT/oci.tar -f oci-src/Dockerfile oci-src
mkdir -p $OUT/ocidir && tar -xf $OUT/oci.tar -C $OUT/ocidir || fail "cannot extract the oci output"
n=$(jq '.manifests | length' $OUT/ocidir/index.json)
[ "$n" = 1 ] || fail "index.json lists $n manifests, want 1"
digest=$(jq -r '.manifests[0].digest' $OUT/ocidir/index.json)
build_ok "context:base = oci-layout with ONBUILD" --build-context base=oci-layout://$OUT/ocidir@$digest \
  -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/bar hello
