# Ported from testDuplicateStageName in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch AS b\nFROM scratch AS b\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|DuplicateStageName|Duplicate stage name "b", stage names should be unique
W
done

new_ctx
printf '\nFROM scratch AS b1\nFROM scratch AS b2\n' | df
checks_are < /dev/null
build_checks_are < /dev/null
