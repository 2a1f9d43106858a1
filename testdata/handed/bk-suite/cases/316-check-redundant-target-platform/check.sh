# Ported from testRedundantTargetPlatform in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

for p in '$TARGETPLATFORM' '${TARGETPLATFORM}'; do
  new_ctx
  printf '\nFROM --platform=%s scratch\n' "$p" | df
  for f in checks_are build_checks_are; do
    $f <<< "2|RedundantTargetPlatform|Setting platform to predefined $p in FROM is redundant as this is the default behavior"
  done
  build_ok_now
done

new_ctx
printf '\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now
