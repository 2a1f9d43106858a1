# Ported from testExposeProtoCasing in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|ExposeProtoCasing|Defined protocol '80/TcP' in EXPOSE instruction should be lowercase
3|ExposeProtoCasing|Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase
W
done
build_ok_now
