# Ported from testNamedFilteredContext in moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go
. "$BK_LIB"
# The Go test measures how many bytes of the "foo" directory are sent per
# target (only /foo for copy_from and run_mount, everything for image_source);
# here each target builds from the named directory and its results are checked.
head -c 4096000 /dev/zero > foo/bar   # "blank file that's just large"
build_ok "the alpine stand-in" -t alpine -f alpine/Dockerfile alpine
{ printf '\nFROM scratch AS foo\nCOPY <<EOF /foo\ntest\nEOF\n'; cat "$CTX/Dockerfile"; } > $OUT/Dockerfile.full
for variant in new replace; do
  df="$CTX/Dockerfile"; [ $variant = replace ] && df=$OUT/Dockerfile.full
  for target in run_mount copy_from image_source all; do
    build_ok "$variant/$target" --build-context foo=foo --target $target -f "$df" -o type=local,dest=$OUT/$variant-$target "$CTX"
  done
  feq $OUT/$variant-copy_from/foo foo
  feq $OUT/$variant-run_mount/foo foo
  feq $OUT/$variant-image_source/bar foo
  feq $OUT/$variant-all/foo.b foo
  feq $OUT/$variant-all/foo.c foo
  feq $OUT/$variant-all/foo.d foo
done
