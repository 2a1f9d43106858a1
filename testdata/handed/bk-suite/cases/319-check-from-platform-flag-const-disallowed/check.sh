# Ported from testFromPlatformFlagConstDisallowed in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM --platform=linux/amd64 scratch\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
2|FromPlatformFlagConstDisallowed|FROM --platform flag should not use constant value "linux/amd64"
W
done
build_ok_now

# the stage name says which platform it is for: no warning
for name in my_amd64_stage linux; do
  new_ctx
  printf '\nFROM --platform=linux/amd64 scratch AS %s\n' "$name" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now
done
