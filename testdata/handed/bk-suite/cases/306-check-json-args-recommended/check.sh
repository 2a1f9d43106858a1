# Ported from testJSONArgsRecommended in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

for ins in CMD ENTRYPOINT; do
  new_ctx
  printf '\nFROM scratch\n%s mycommand\n' "$ins" | df
  for f in checks_are build_checks_are; do
    $f <<W
3|JSONArgsRecommended|JSON arguments recommended for $ins to prevent unintended behavior related to OS signals
W
  done
  build_ok_now

  # a SHELL in the stage, or in the base stage: no warning
  new_ctx
  printf '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\n%s mycommand\n' "$ins" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now

  new_ctx
  printf '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\n%s mycommand\n' "$ins" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now
done
