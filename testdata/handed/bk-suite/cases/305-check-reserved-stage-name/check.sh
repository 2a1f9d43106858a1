# Ported from testReservedStageName in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch AS scratch\nFROM scratch AS context\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
2|ReservedStageName|Stage name should not use the same name as reserved stage "scratch"
3|ReservedStageName|Stage name should not use the same name as reserved stage "context"
W
done

# a reserved name as the base, or no reserved name: no warning
new_ctx
printf '\nFROM scratch\nFROM scratch AS a\n' | df
checks_are < /dev/null
build_checks_are < /dev/null
