# Ported from testNamedOCILayoutContext in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
# 1-2: an image with /test/out "first", /test/out2 "second", ENV foo=bar, saved as an OCI layout dir
build_ok "the OCI layout's image" -o type=oci,dest=$OUT/oci.tar -f oci-src/Dockerfile oci-src
mkdir -p $OUT/ocidir && tar -xf $OUT/oci.tar -C $OUT/ocidir || fail "cannot extract the oci output"
n=$(jq '.manifests | length' $OUT/ocidir/index.json)
[ "$n" = 1 ] || fail "index.json lists $n manifests, want 1"
digest=$(jq -r '.manifests[0].digest' $OUT/ocidir/index.json)
# 3-4: base and foo both come from the layout
build_ok "context:base and context:foo = oci-layout" \
  --build-context base=oci-layout://$OUT/ocidir@$digest --build-context foo=oci-layout://$OUT/ocidir@$digest \
  -o type=local,dest=$OUT/d "$CTX"
feq $OUT/d/out first
feq $OUT/d/out2 second
feq $OUT/d/outfoo bar
