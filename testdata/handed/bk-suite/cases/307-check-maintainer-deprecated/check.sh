# Ported from testMaintainerDeprecated in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch\nMAINTAINER me@example.org\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label
W
done
build_ok_now

new_ctx
printf '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

# a check comment right above the instruction skips its rule there
for t in "JSONArgsRecommended|CMD mycommand" "JSONArgsRecommended|ENTRYPOINT mycommand" \
         "MaintainerDeprecated|MAINTAINER me@example.org"; do
  new_ctx
  printf '\nFROM scratch\n# check=skip=%s\n%s\n' "${t%%|*}" "${t#*|}" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now
done
