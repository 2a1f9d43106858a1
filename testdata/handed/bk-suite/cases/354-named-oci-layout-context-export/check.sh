# Ported from testNamedOCILayoutContextExport in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
build_ok "the OCI layout's image" -o type=oci,dest=$OUT/oci.tar -f oci-src/Dockerfile oci-src
mkdir -p $OUT/ocidir && tar -xf $OUT/oci.tar -C $OUT/ocidir || fail "cannot extract the oci output"
n=$(jq '.manifests | length' $OUT/ocidir/index.json)
[ "$n" = 1 ] || fail "index.json lists $n manifests, want 1"
digest=$(jq -r '.manifests[0].digest' $OUT/ocidir/index.json)
build_ok "context:nonexistent = oci-layout" --build-context nonexistent=oci-layout://$OUT/ocidir@$digest \
  -o type=oci,dest=$OUT/out.tar "$CTX"
mkdir -p $OUT/outdir && tar -xf $OUT/out.tar -C $OUT/outdir || fail "cannot extract the second oci output"
n=$(jq '.manifests | length' $OUT/outdir/index.json)
[ "$n" = 1 ] || fail "the output's index.json lists $n manifests, want 1"
m=$(jq -r '.manifests[0].digest' $OUT/outdir/index.json | sed 's/sha256://')
c=$(jq -r '.config.digest' $OUT/outdir/blobs/sha256/$m | sed 's/sha256://')
json_eq $OUT/outdir/blobs/sha256/$c '.config.WorkingDir' '"/test"'
json_true $OUT/outdir/blobs/sha256/$c 'any(.config.Env[]; . == "foo=bar")' "Env contains foo=bar"
