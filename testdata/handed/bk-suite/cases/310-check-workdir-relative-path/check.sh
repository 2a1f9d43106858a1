# Ported from testWorkdirRelativePath in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch\nWORKDIR app/\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|WorkdirRelativePath|Relative workdir "app/" can have unexpected results if the base image changes
W
done
build_ok_now

# an absolute WORKDIR in the base stage counts
new_ctx
printf '\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

new_ctx
printf '\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now
