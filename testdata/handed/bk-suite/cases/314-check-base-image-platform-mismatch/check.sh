# Ported from testBaseImagePlatformMismatch in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"
# The Go test pushes an image built for another platform to a registry; here
# the store holds it: an arm64 image imported under a local name.
mkdir -p "$OUT/rootfs" && printf test > "$OUT/rootfs/foo"
tar -C "$OUT/rootfs" -cf "$OUT/rootfs.tar" foo
"$B" import --platform linux/arm64 "$OUT/rootfs.tar" testbaseimageplatform:latest > "$OUT/import.log" 2>&1 \
  || fail "import of the arm64 image failed: $(tail -n 1 "$OUT/import.log")"

new_ctx
printf '\nFROM testbaseimageplatform:latest\nENV foo=bar\n\t' | df
checks_are <<'W'
2|InvalidBaseImagePlatform|Base image testbaseimageplatform:latest was pulled with platform "linux/arm64", expected "linux/amd64" for current build
W
build_checks_are <<'W'
2|InvalidBaseImagePlatform|Base image testbaseimageplatform:latest was pulled with platform "linux/arm64", expected "linux/amd64" for current build
W
